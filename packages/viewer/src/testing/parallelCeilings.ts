// Benchmark tooling (Node): how far this machine lets work in several Web Workers at once scale.
import type { Page } from 'playwright-core';

/** A probe's kind: what bounds it. */
export type CeilingProbe = 'arithmetic' | 'cache' | 'memory';

/** One probe: the same work in one worker, then in `workers` workers at once, round by round. */
export interface ParallelCeiling {
  readonly probe: CeilingProbe;
  /** What the probe does, for the report. */
  readonly what: string;
  /** For the copies: bytes one worker reads and writes in its share. */
  readonly bytes?: number;
  /** Per round: one worker's time for its share, and the slowest worker's when all ran at once. */
  readonly rounds: readonly { readonly oneMs: number; readonly allMs: number }[];
}

export interface ParallelCeilings {
  readonly workers: number;
  readonly probes: readonly ParallelCeiling[];
}

/** The probes, in order; a copy probe copies between two arrays of `floats` values, `reps` times each way. */
const PROBES: readonly { readonly probe: CeilingProbe; readonly what: string; readonly floats?: number; readonly reps?: number }[] = [
  { probe: 'arithmetic', what: 'multiply-adds in registers' },
  { probe: 'cache', what: 'copies within 2 MiB (cache)', floats: 256 * 1024, reps: 512 },
  { probe: 'memory', what: 'copies of 64 MiB arrays (DRAM)', floats: 16 * 1024 * 1024, reps: 8 },
];

/**
 * Runs in the page (plain JavaScript: the TypeScript loader's helpers are not there). Each worker
 * comes from a blob, prepares and warms its buffers, reports ready, waits on a shared flag so all
 * start together, runs its share and posts its time. The probes:
 * - arithmetic: 4 dependent chains of multiply-adds on doubles (registers only);
 * - cache: copies between two 1 MiB arrays (2 MiB, within a core's L2 on current x86);
 * - memory: copies between two 64 MiB arrays (far beyond any cache: DRAM bandwidth).
 */
const IN_PAGE = `async ({ workers, rounds, probes }) => {
  const body = \`onmessage = (e) => {
    const { probe, control } = e.data;
    const flags = new Int32Array(control);
    let run;
    if (probe.floats === undefined) {
      run = () => { let a = 1, b = 1, c = 1, d = 1; for (let i = 0; i < 30000000; i++) { a = a * 0.9999999 + 1e-7; b = b * 0.9999998 + 2e-7; c = c * 0.9999997 + 3e-7; d = d * 0.9999996 + 4e-7; } return a + b + c + d; };
    } else {
      const { floats: n, reps } = probe;
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
  const out = [];
  for (const probe of probes) {
    const rs = [];
    for (let r = 0; r < rounds; r++) rs.push({ oneMs: await once(probe, 1), allMs: await once(probe, workers) });
    out.push(rs);
  }
  URL.revokeObjectURL(url);
  return out;
}`;

/**
 * Measures, in `page` (which must be cross-origin isolated: the workers start together on a
 * SharedArrayBuffer flag), each probe in one Web Worker and in `workers` at once, `rounds` times:
 * work bound by arithmetic, by cache and by memory bandwidth. Plain JavaScript, no tfjs: the
 * ceiling any parallel training step on this machine works under. The times come back as
 * measured; the caller summarises them (speed-up = workers × oneMs / allMs).
 */
export async function measureParallelCeilings(page: Page, workers: number, rounds = 3): Promise<ParallelCeilings> {
  if (!Number.isInteger(workers) || workers < 2) throw new RangeError(`parallel ceilings compare at least 2 workers with one, got ${workers}`);
  if (!(await page.evaluate('globalThis.crossOriginIsolated'))) throw new Error('parallel ceilings need a cross-origin-isolated page (SharedArrayBuffer)');
  const raw = (await page.evaluate(`(${IN_PAGE})(${JSON.stringify({ workers, rounds, probes: PROBES })})`)) as { oneMs: number; allMs: number }[][];
  return {
    workers,
    // Each copy reads and writes its array, both ways, reps times.
    probes: PROBES.map((p, k) => ({ probe: p.probe, what: p.what, ...(p.floats === undefined ? {} : { bytes: p.reps! * 2 * 2 * p.floats * 4 }), rounds: raw[k]! })),
  };
}
