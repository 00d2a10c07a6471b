import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser';
import { measureParallelCeilings } from './parallelCeilings';
import { startWorkerHost, type WorkerHost } from './workerBenchmark';

let host: WorkerHost;
beforeAll(async () => {
  host = await startWorkerHost({ webgpu: false });
}, 180_000);
afterAll(async () => host?.close());

describe("bench worker's parallel ceilings (plain-JavaScript workers at once vs one)", () => {
  it('reports each probe with its times, and a speed-up and bandwidth that follow from them', async () => {
    const c = await host.ceilings(2, 1);
    expect(c).toMatchObject({ workers: 2, rounds: 1 });
    expect(c.probes.map((p) => p.probe)).toEqual(['arithmetic', 'cache', 'memory']);
    for (const p of c.probes) {
      expect(p.oneMs).toBeGreaterThan(0);
      expect(p.allMs).toBeGreaterThan(0);
      // One round: the speed-up is 2 workers' throughput over one's, from the times it reports.
      expect(p.speedup).toBeCloseTo((2 * p.oneMs) / p.allMs, 1);
      expect(p.speedupRange).toEqual([p.speedup, p.speedup]);
    }
    const [, cache, memory] = c.probes;
    // Each copy probe moves 2 GiB a worker (read + write).
    for (const p of [cache!, memory!]) {
      expect(p.gbPerS!.one).toBeCloseTo(2 ** 31 / p.oneMs / 1e6, 0);
      expect(p.gbPerS!.all).toBeCloseTo((2 * 2 ** 31) / p.allMs / 1e6, 0);
    }
    expect(c.probes[0]!.gbPerS).toBeUndefined();
  }, 120_000);

  it('refuses fewer than 2 workers, and a page that is not cross-origin isolated', async () => {
    const browser = await launchChromium({ webgpu: false });
    try {
      const page = await browser.context.newPage();
      await expect(measureParallelCeilings(page, 1)).rejects.toThrow('at least 2 workers');
      await expect(measureParallelCeilings(page, 2)).rejects.toThrow('cross-origin-isolated page');
    } finally {
      await browser.close();
    }
  }, 60_000);
});
