import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchWorker } from './commands/benchWorker';
import { UsageError } from './errors';

const dir = mkdtempSync(join(tmpdir(), 'tomosort-bench-worker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench worker: independent workers and the machine’s ceilings', () => {
  it('refuses independent workers on webgpu before starting anything', async () => {
    await expect(benchWorker(['--parallel', 'independent', '--compute', 'webgpu'])).rejects.toThrow(UsageError);
  });

  it('runs 2 independent 1-thread workers on half the batch each, reports the slowest per step, and the ceilings for 2 workers summarised from their rounds', async () => {
    const out = join(dir, 'w.json');
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      expect(await benchWorker(['--size', '16', '--batch', '2', '--steps', '2', '--threads', '1,2', '--parallel', 'independent', '--out', out])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    const r = JSON.parse(readFileSync(out, 'utf8'));
    expect(r.runs.map((x: { parallel: string | null }) => x.parallel)).toEqual([null, 'independent']);
    const ind = r.runs[1];
    expect(ind.backend).toMatch(/× 2 independent workers \(1 slice each, no sums\)$/);
    // Separate models: no loss comparison, and one time per step (2 measured + the warm-up).
    expect(ind.maxLossDifference).toBeNull();
    expect(ind.losses).toEqual([]);
    expect(ind.msPerStep).toHaveLength(3);
    expect(r.ceilings).toMatchObject({ workers: 2, rounds: 3 });
    type Probe = { probe: string; oneMs: number; allMs: number; speedup: number; speedupRange: [number, number]; gbPerS?: { one: number; all: number }; rounds: { oneMs: number; allMs: number }[] };
    const probes = r.ceilings.probes as Probe[];
    expect(probes.map((p) => p.probe)).toEqual(['arithmetic', 'cache', 'memory']);
    const median3 = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    for (const p of probes) {
      // The summary follows from the rounds it reports: 2 workers' throughput over one's.
      const speedups = p.rounds.map((x) => (2 * x.oneMs) / x.allMs);
      expect(p.speedup).toBeCloseTo(median3(speedups), 1);
      expect(p.speedupRange[0]).toBeCloseTo(Math.min(...speedups), 1);
      expect(p.speedupRange[1]).toBeCloseTo(Math.max(...speedups), 1);
      expect(p.oneMs).toBeCloseTo(median3(p.rounds.map((x) => x.oneMs)), 1);
      expect(p.allMs).toBeCloseTo(median3(p.rounds.map((x) => x.allMs)), 1);
    }
    // The copies move 2 GiB a worker: GB/s from the median times; the arithmetic has none.
    expect(probes[0]!.gbPerS).toBeUndefined();
    for (const p of probes.slice(1)) {
      expect(p.gbPerS!.one).toBeCloseTo(2 ** 31 / p.oneMs / 1e6, 0);
      expect(p.gbPerS!.all).toBeCloseTo((2 * 2 ** 31) / p.allMs / 1e6, 0);
    }
  }, 180_000);
});
