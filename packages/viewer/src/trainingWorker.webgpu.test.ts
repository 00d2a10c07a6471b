import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBGPU_KERNEL_GROUPS } from '@tomosort/backend';
import { startWorkerHost } from './testing';
import type { WorkerHost } from './testing';

// The training worker on WebGPU in headless Chromium (SwiftShader on a machine without a GPU):
// our WGSL kernels run in Chromium's Dawn, and a fine-tuning run agrees with wasm.
let host: WorkerHost;
beforeAll(async () => {
  host = await startWorkerHost({ webgpu: true });
}, 180_000);
afterAll(async () => host?.close());

describe('the training worker in Chromium on WebGPU', () => {
  it('fine-tunes with our WGSL kernels as wasm does, reading the loss every 4 steps: 1 GPU readback a step', async () => {
    const job = { size: 32, batch: 2, steps: 4, seed: 3 };
    const gpu = await host.benchmark({ compute: 'webgpu', job });
    const wasm = await host.benchmark({ compute: 'wasm', threads: 1, job });
    expect(gpu.backend).toMatch(/^webgpu/);
    expect(gpu.losses).toHaveLength(job.steps);
    // Different summation orders (tiled GEMMs, two-stage batch-norm sums): agreement, not identity.
    gpu.losses.forEach((loss, k) => expect(Math.abs(loss - wasm.losses[k]!), `step ${k + 1}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(wasm.losses[k]!))));
    expect(gpu.webgpu).toBeDefined();
    expect(gpu.webgpu!.kernels).toEqual([...WEBGPU_KERNEL_GROUPS]);
    expect(gpu.webgpu!.readEvery).toBe(4);
    // The loss and gradient norm come back in one buffer; nothing else is read during a step.
    expect(gpu.webgpu!.readbacksPerStep).toBe(1);
    expect(gpu.webgpu!.dispatchesPerStep).toBeGreaterThan(0);
    expect(gpu.webgpu!.peakGpuBytes).toBeGreaterThan(0);
    // Steps read back in blocks of 4 share the block's mean time.
    expect(gpu.msPerStep[0]).toBe(gpu.msPerStep[3]);
    expect(wasm.webgpu).toBeUndefined();
  }, 600_000);
});
