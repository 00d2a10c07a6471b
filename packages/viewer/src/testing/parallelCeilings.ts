// Benchmark tooling (Node): how far this machine lets work in several Web Workers at once scale.
import type { Page } from 'playwright-core';

/** A probe's kind: what bounds it. */
export type CeilingProbe = 'arithmetic' | 'cache' | 'memory';

/** One probe: the same work in one worker, then in `workers` workers at once. */
export interface ParallelCeiling {
  readonly probe: CeilingProbe;
  /** What the probe does, for the report. */
  readonly what: string;
  /** Median over rounds of one worker's time for its share. */
  readonly oneMs: number;
  /** Median over rounds of the slowest worker's time when all ran at once. */
  readonly allMs: number;
  /** workers × oneMs / allMs: the throughput of all workers over one's (median over rounds; min–max). */
  readonly speedup: number;
  readonly speedupRange: readonly [number, number];
  /** For the copies: bytes read and written per second, one worker and all together (GB/s). */
  readonly gbPerS?: { readonly one: number; readonly all: number };
}

export interface ParallelCeilings {
  readonly workers: number;
  readonly rounds: number;
  readonly probes: readonly ParallelCeiling[];
}

/** Bytes one worker's copy probe moves (each copy reads and writes its array). */
const COPY_BYTES = { cache: 512 * 2 * 2 * 1024 * 1024, memory: 8 * 2 * 2 * 64 * 1024 * 1024 } as const;

/**
 * Runs in the page (plain JavaScript: the TypeScript loader's helpers are not there). Each worker
 * comes from a blob, prepares and warms its buffers, reports ready, waits on a shared flag so all
 * start together, runs its share and posts its time. The probes:
 * - arithmetic: 4 dependent chains of multiply-adds on doubles (registers only);
 * - cache: copies between two 1 MiB arrays (2 MiB, within a core's L2 on current x86);
 * - memory: copies between two 64 MiB arrays (far beyond any cache: DRAM bandwidth).
 */
const IN_PAGE = `async ({ workers, rounds }) => {
  const body = \`onmessage = (e) => {
    const { probe, control } = e.data;
    const flags = new Int32Array(control);
    let run;
    if (probe === 'arithmetic') {
      run = () => { let a = 1, b = 1, c = 1, d = 1; for (let i = 0; i < 30000000; i++) { a = a * 0.9999999 + 1e-7; b = b * 0.9999998 + 2e-7; c = c * 0.9999997 + 3e-7; d = d * 0.9999996 + 4e-7; } return a + b + c + d; };
    } else {
      const n = probe === 'memory' ? 16 * 1024 * 1024 : 256 * 1024;
      const reps = probe === 'memory' ? 8 : 512;
      const s = new Float32Array(n).fill(1), t = new Float32Array(n);
      run = () => { for (let r = 0; r < reps; r++) { t.set(s); s.set(t); } return t[0]; };
    }
    run();
    Atomics.add(flags, 0, 1);
    while (Atomics.load(flags, 1) === 0) Atomics.wait(flags, 1, 0);
    const t0 = performance.now();
    const v = run();
    postMessage({ ms: performance.now() - t0, v });
  };\`;
  const url = URL.createObjectURL(new Blob([body], { type: 'text/javascript' }));
  const once = async (probe, k) => {
    const control = new SharedArrayBuffer(8);
    const flags = new Int32Array(control);
    const ws = Array.from({ length: k }, () => new Worker(url));
    const done = ws.map((w) => new Promise((resolve, reject) => { w.onmessage = (e) => resolve(e.data.ms); w.onerror = (e) => reject(new Error('probe worker failed: ' + e.message)); }));
    ws.forEach((w) => w.postMessage({ probe, control }));
    const deadline = performance.now() + 60000;
    while (Atomics.load(flags, 0) < k) {
      if (performance.now() > deadline) throw new Error('probe workers did not get ready within 60 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
    const ms = await Promise.all(done);
    ws.forEach((w) => w.terminate());
    return Math.max(...ms);
  };
  const out = {};
  for (const probe of ['arithmetic', 'cache', 'memory']) {
    out[probe] = [];
    for (let r = 0; r < rounds; r++) out[probe].push({ one: await once(probe, 1), all: await once(probe, workers) });
  }
  URL.revokeObjectURL(url);
  return out;
}`;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const WHAT: Record<CeilingProbe, string> = {
  arithmetic: 'multiply-adds in registers',
  cache: 'copies within 2 MiB (cache)',
  memory: 'copies of 64 MiB arrays (DRAM)',
};

/**
 * Measures, in `page` (which must be cross-origin isolated: the workers start together on a
 * SharedArrayBuffer flag), how the throughput of `workers` Web Workers running at once compares
 * with one's, for work bound by arithmetic, by cache and by memory bandwidth. Plain JavaScript,
 * no tfjs: the ceiling any parallel training step on this machine works under.
 */
export async function measureParallelCeilings(page: Page, workers: number, rounds = 3): Promise<ParallelCeilings> {
  if (!Number.isInteger(workers) || workers < 2) throw new RangeError(`parallel ceilings compare at least 2 workers with one, got ${workers}`);
  if (!(await page.evaluate('globalThis.crossOriginIsolated'))) throw new Error('parallel ceilings need a cross-origin-isolated page (SharedArrayBuffer)');
  const raw = (await page.evaluate(`(${IN_PAGE})(${JSON.stringify({ workers, rounds })})`)) as Record<CeilingProbe, { one: number; all: number }[]>;
  const probes = (['arithmetic', 'cache', 'memory'] as const).map((probe): ParallelCeiling => {
    const rs = raw[probe];
    const speedups = rs.map((r) => (workers * r.one) / r.all);
    const oneMs = median(rs.map((r) => r.one));
    const allMs = median(rs.map((r) => r.all));
    const round2 = (x: number) => +x.toFixed(2);
    const bytes = probe === 'arithmetic' ? undefined : COPY_BYTES[probe];
    return {
      probe,
      what: WHAT[probe],
      oneMs: +oneMs.toFixed(1),
      allMs: +allMs.toFixed(1),
      speedup: round2(median(speedups)),
      speedupRange: [round2(Math.min(...speedups)), round2(Math.max(...speedups))],
      ...(bytes === undefined ? {} : { gbPerS: { one: +(bytes / oneMs / 1e6).toFixed(1), all: +((workers * bytes) / allMs / 1e6).toFixed(1) } }),
    };
  });
  return { workers, rounds, probes };
}
