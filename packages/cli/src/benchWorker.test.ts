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

  it('runs 2 independent 1-thread workers on half the batch each, reports the slowest per step, and the ceilings for 2 workers', async () => {
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
    expect(r.ceilings.workers).toBe(2);
    expect(r.ceilings.probes.map((p: { probe: string }) => p.probe)).toEqual(['arithmetic', 'cache', 'memory']);
  }, 180_000);
});
