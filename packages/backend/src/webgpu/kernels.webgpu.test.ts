import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../node';
import { batchNormTrain } from '../ops/batchNormTrain';
import { randomNormal } from '../testing/conv2dCases';
import { WEBGPU_KERNEL_CHECKS, runKernelCheck } from '../testing/webgpuKernelChecks';
import type { ConvGeometry3D } from './convGemm';
import { gemmPlan } from './convGemm';
import { countWebGpuWork, secondStepWork } from './counters';
import { useWebGpuKernels, webGpuKernelActive, webGpuKernelsInUse } from './kernels';

/**
 * Our WGSL kernels against tfjs' own on the cpu backend (the composites for the fused ones),
 * kernel by kernel, on the shape table of `testing/webgpuKernelChecks`. SwiftShader when the
 * machine has no GPU. Errors measured there: ≤ 1e-6.
 */
const TOLERANCE = 1e-4;

beforeAll(async () => {
  await initNodeBackend('cpu');
  await initNodeBackend('webgpu');
}, 30_000);
afterAll(() => useWebGpuKernels('all'));

describe('which kernels run', () => {
  it("initNodeBackend('webgpu') installs ours; 'none' restores tfjs' own", async () => {
    await tf.setBackend('webgpu');
    expect(webGpuKernelsInUse()).toEqual(['conv2dBackpropFilter', 'conv2dBackpropInput', 'conv3d', 'batchNormTrain', 'adamUpdate']);
    expect(webGpuKernelActive('conv3d')).toBe(true);
    useWebGpuKernels('none');
    expect(webGpuKernelsInUse()).toEqual([]);
    expect(webGpuKernelActive('conv3d')).toBe(false);
    useWebGpuKernels(['conv3d']);
    expect(webGpuKernelsInUse()).toEqual(['conv3d']);
    useWebGpuKernels('all');
    await tf.setBackend('cpu');
    expect(webGpuKernelActive('conv3d')).toBe(false);
  });
});

describe(`our kernels equal tfjs’ on cpu within ${TOLERANCE} (the shape table, also run in Chromium)`, () => {
  it.each(WEBGPU_KERNEL_CHECKS.map((c) => [c.name, c] as const))('%s', async (_, check) => {
    const r = await runKernelCheck(check);
    expect(r.ours).toBe(true);
    expect(r.outputs).toBeGreaterThan(0);
    expect(r.maxRelativeError).toBeLessThan(TOLERANCE);
  }, 30_000);
});

describe('the GEMM plan', () => {
  const g = (over: Partial<ConvGeometry3D>): ConvGeometry3D => ({
    batch: 8, inD: 1, inH: 128, inW: 128, inC: 64, outD: 1, outH: 128, outW: 128, outC: 64,
    fD: 1, fH: 3, fW: 3, sD: 1, sH: 1, sW: 1, dD: 1, dH: 1, dW: 1, pD: 0, pH: 1, pW: 1, ...over,
  });
  it('splits a filter gradient with few tiles along K until ~512 workgroups, each split ≥ 256 terms', () => {
    // 576 × 64 outputs: 9 tiles of 64²; K = 8·128² = 131072.
    const p = gemmPlan('filter', g({}));
    expect(p.dispatch.slice(0, 2)).toEqual([9, 1]);
    expect(p.splits).toBe(57); // ⌈512 / 9⌉
    expect(p.kChunk * p.splits).toBeGreaterThanOrEqual(8 * 128 * 128);
    expect(p.kChunk * (p.splits - 1)).toBeLessThan(8 * 128 * 128);
  });
  it('never splits the forward or input forms, and picks the tile by the output channels', () => {
    expect(gemmPlan('forward', g({})).splits).toBe(1);
    expect(gemmPlan('input', g({ inC: 8 }))).toMatchObject({ tm: 128, tn: 16, splits: 1 });
    expect(gemmPlan('forward', g({ outC: 40 }))).toMatchObject({ tm: 128, tn: 32 });
    // A tiny K is never split below 256 terms per split.
    expect(gemmPlan('filter', g({ batch: 1, inH: 8, inW: 8, outH: 8, outW: 8 })).splits).toBe(1);
  });
});

describe('countWebGpuWork', () => {
  it('counts one dispatch per program and one readback per data(); ours record fewer dispatches than the composite', async () => {
    await tf.setBackend('webgpu');
    const x = tf.tensor(randomNormal(2 * 8 * 8 * 16, 81), [2, 8, 8, 16]);
    const scale = tf.ones([16]) as tf.Tensor1D;
    const offset = tf.zeros([16]) as tf.Tensor1D;
    const bnDispatches = () => {
      const c = countWebGpuWork();
      tf.tidy(() => tf.grads((a: Tensor) => tf.sum(batchNormTrain(a, scale, offset, { relu: true }).y))([x]));
      const n = c.read().dispatches;
      c.stop();
      return n;
    };
    const ours = bnDispatches();
    useWebGpuKernels(['conv2dBackpropFilter', 'conv2dBackpropInput', 'conv3d', 'adamUpdate']);
    const composite = bnDispatches();
    useWebGpuKernels('all');
    // Forward 4 + backward 6 of ours, plus the sum, the ones of its gradient and whatever tf.grads adds.
    expect(ours).toBeLessThan(composite);
    const c = countWebGpuWork();
    const y = tf.add(x, 1);
    expect(c.read()).toMatchObject({ dispatches: 1, readbacks: 0 });
    await y.data();
    const after = c.read();
    expect(after).toMatchObject({ dispatches: 1, readbacks: 1 });
    expect(after.peakGpuBytes).toBeGreaterThanOrEqual(2 * 2 * 8 * 8 * 16 * 4);
    // Values tfjs still holds on the CPU (never uploaded) are no readback.
    const onCpu = tf.tensor([1, 2, 3]);
    await onCpu.data();
    expect(c.read().readbacks).toBe(1);
    onCpu.dispose();
    expect(() => countWebGpuWork()).toThrow(/already running/);
    c.stop();
    tf.dispose([x, y, scale, offset]);
  });
  it('secondStepWork counts from step 1 on: the second step’s dispatches and readback', async () => {
    await tf.setBackend('webgpu');
    // Large enough for the GPU: tfjs computes small CPU-held inputs on the CPU.
    const x = tf.tensor(randomNormal(4096, 91));
    const c = countWebGpuWork();
    try {
      const work = await secondStepWork(c, async (onStep) => {
        const a = tf.add(x, 1);
        await a.data();
        onStep(1);
        const b = tf.tidy(() => tf.mul(tf.add(a, 1), 2));
        await b.data();
        onStep(2);
        tf.dispose([a, b]);
      });
      expect(work).toEqual({ dispatches: 2, readbacks: 1 });
    } finally {
      c.stop();
      x.dispose();
    }
  });
});
