import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, measureParallelCeilings, startWorkerHost } from './testing';
import type { WorkerHost } from './testing';

// The training worker in headless Chromium (Debian's), served like the viewer: cross-origin isolated.
let host: WorkerHost;
beforeAll(async () => {
  host = await startWorkerHost({ webgpu: false });
}, 180_000);
afterAll(async () => host?.close());

describe('the training worker in Chromium on wasm (threads, cancel)', () => {
  it('runs 2 wasm threads in a cross-origin-isolated page and trains as 1 thread does', async () => {
    const job = { size: 32, batch: 2, steps: 4, seed: 3 };
    const one = await host.benchmark({ compute: 'wasm', threads: 1, job });
    const two = await host.benchmark({ compute: 'wasm', threads: 2, job });
    expect(two.crossOriginIsolated).toBe(true);
    expect(one.backend).toBe('wasm (SIMD, 1 thread)');
    // 2 threads even on a 2-vCPU machine, where tfjs alone would cap the pool at one.
    expect(two.backend).toBe('wasm (SIMD, 2 threads)');
    expect(two.threads).toBe(2);
    expect(two.losses).toHaveLength(job.steps);
    expect(two.losses.every(Number.isFinite)).toBe(true);
    // Threads split the work differently, so sums may round differently: agreement, not identity.
    two.losses.forEach((loss, k) => expect(loss, `step ${k + 1}`).toBeCloseTo(one.losses[k]!, 4));
    // The run trains: the same data, so a lower loss by the last step.
    expect(two.losses.at(-1)!).toBeLessThan(two.losses[0]!);
  }, 300_000);

  it('fine-tunes on 3 data-parallel replicas (helper workers, shared memory) as one thread does, an uneven batch split', async () => {
    const job = { size: 32, batch: 5, steps: 4, seed: 3 };
    const one = await host.benchmark({ compute: 'wasm', threads: 1, job });
    const three = await host.benchmark({ compute: 'wasm', threads: 3, parallel: 'replicas', job });
    expect(three.backend).toBe('wasm (SIMD, 1 thread) × 3 replicas');
    expect(three.ranOn).toBe(three.backend);
    expect(three.replicas).toBe(3);
    expect(three.threads).toBe(1);
    // Every replica took part: each waited at the sums (a replica that skipped them would hang the others or wait 0).
    expect(three.replicaWaitMsPerStep).toHaveLength(3);
    expect(three.losses).toHaveLength(job.steps);
    // Shards of 2 + 2 + 1 run other kernel tilings than a batch of 5: agreement, not identity (measured ≤ 3e-4 at 128²).
    three.losses.forEach((loss, k) => expect(Math.abs(loss - one.losses[k]!) / one.losses[k]!, `step ${k + 1}`).toBeLessThan(2e-3));
    expect(three.losses.at(-1)!).toBeLessThan(three.losses[0]!);
  }, 300_000);

  it('fine-tunes a 3D U-Net on 2 replicas of one crop each as one thread does with both crops', async () => {
    const job = { size: 16, depth: 8, batch: 2, steps: 3, seed: 3 };
    const one = await host.benchmark({ compute: 'wasm', threads: 1, job });
    const two = await host.benchmark({ compute: 'wasm', threads: 2, parallel: 'replicas', job });
    expect(two.ranOn).toBe('wasm (SIMD, 1 thread) × 2 replicas');
    expect(two.replicaWaitMsPerStep).toHaveLength(2);
    expect(two.losses).toHaveLength(job.steps);
    // The first step is the same forward pass; Adam then carries the shards' rounding (`bench worker --depth 8 --size 16 --batch 2 --steps 3 --seed 3`: max |Δ loss| 2.0e-5).
    two.losses.forEach((loss, k) => expect(Math.abs(loss - one.losses[k]!) / one.losses[k]!, `step ${k + 1}`).toBeLessThan(2e-3));
  }, 300_000);

  it('a job runs on no more replicas than its batch has slices, and says so', async () => {
    const job = { size: 32, steps: 2, seed: 3 };
    const two = await host.benchmark({ compute: 'wasm', threads: 3, parallel: 'replicas', job: { ...job, batch: 2 } });
    expect(two.backend).toBe('wasm (SIMD, 1 thread) × 3 replicas');
    expect(two.ranOn).toBe('wasm (SIMD, 1 thread) × 2 replicas');
    expect(two.replicaWaitMsPerStep).toHaveLength(2);
    const alone = await host.benchmark({ compute: 'wasm', threads: 3, parallel: 'replicas', job: { ...job, batch: 1 } });
    expect(alone.ranOn).toBe('wasm (SIMD, 1 thread)');
    expect(alone.replicaWaitMsPerStep).toBeUndefined();
  }, 120_000);

  it('a cancel sent mid-run stops the job within a second on wasm, with the steps done so far', async () => {
    // 64², batch 4: ~0.25–0.4 s a step here, so 1,000 steps would run for minutes.
    const r = await host.benchmark({ compute: 'wasm', threads: 1, job: { size: 64, batch: 4, steps: 1000, seed: 1 }, cancelAtStep: 3 });
    expect(r.cancelled).toBe(true);
    expect(r.losses.length).toBeGreaterThanOrEqual(3);
    expect(r.losses.length).toBeLessThan(1000);
    expect(r.cancelMs!).toBeLessThan(1000);
  }, 120_000);

  it('a cancel stops every replica within a second: the helpers end with the worker', async () => {
    const r = await host.benchmark({ compute: 'wasm', threads: 2, parallel: 'replicas', job: { size: 64, batch: 4, steps: 1000, seed: 1 }, cancelAtStep: 3 });
    expect(r.replicas).toBe(2);
    expect(r.cancelled).toBe(true);
    expect(r.losses.length).toBeGreaterThanOrEqual(3);
    expect(r.losses.length).toBeLessThan(1000);
    // Both waited at the same sums to the end (a helper still running would never answer).
    expect(r.replicaWaitMsPerStep).toHaveLength(2);
    expect(r.cancelMs!).toBeLessThan(1000);
  }, 120_000);

  it('one job at a time, by id: a second job is refused in plain words, a cancel of another id changes nothing, its own stops it', async () => {
    const r = await host.benchmark({ compute: 'wasm', threads: 1, job: { size: 32, batch: 2, steps: 1000, seed: 1 }, cancelAtStep: 4, intrude: true });
    expect(r.intruded?.refused).toEqual({ type: 'error', message: 'A job (benchmark) is running: wait for it, or cancel it first.', jobId: 2 });
    // After the cancel of id 99 the job went on for more than a step, then its own cancel stopped it.
    expect(r.intruded?.stillRunning).toBe(true);
    expect(r.cancelled).toBe(true);
    expect(r.jobId).toBe(1);
    expect(r.losses.length).toBeLessThan(1000);
  }, 120_000);

  it('without an explicit count starts hardware concurrency − 1 threads (at least 1)', async () => {
    const auto = await host.benchmark({ compute: 'wasm', job: { size: 16, batch: 1, steps: 1, seed: 0 } });
    // tfjs' pool holds at most 8.
    expect(auto.threads).toBe(Math.min(8, Math.max(1, auto.hardwareConcurrency - 1)));
  }, 120_000);
});

describe("bench worker's parallel ceilings (plain-JavaScript workers at once vs one)", () => {
  it('measures each probe alone and with 2 workers at once, round by round; the copies say how many bytes they move', async () => {
    const c = await host.ceilings(2, 2);
    expect(c.workers).toBe(2);
    expect(c.probes.map((p) => p.probe)).toEqual(['arithmetic', 'cache', 'memory']);
    for (const p of c.probes) {
      expect(p.rounds).toHaveLength(2);
      for (const r of p.rounds) {
        expect(r.oneMs).toBeGreaterThan(0);
        expect(r.allMs).toBeGreaterThan(0);
      }
    }
    // Each copy probe moves 2 GiB a worker (read + write); the arithmetic moves none.
    expect(c.probes.map((p) => p.bytes)).toEqual([undefined, 2 ** 31, 2 ** 31]);
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
