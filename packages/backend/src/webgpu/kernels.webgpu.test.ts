import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelName, tomosortKernelActive } from '../kernels';
import { initNodeBackend } from '../node';
import { adamUpdate } from '../ops/adamUpdate';
import { batchNormTrain } from '../ops/batchNormTrain';
import { CONV_CASES, caseData, randomNormal, relativeError } from '../testing/conv2dCases';
import type { ConvGeometry3D } from './convGemm';
import { gemmPlan } from './convGemm';
import { countWebGpuWork, secondStepWork } from './counters';
import { useWebGpuKernels, webGpuKernelActive, webGpuKernelsInUse } from './kernels';

/**
 * Our WGSL kernels against tfjs' own on the cpu backend, kernel by kernel, on a table of shapes
 * that exercises every tile shape (outputs of ≥ 64, 32–63 and < 32 channels), partial tiles,
 * strides, 'same'/'valid'/numeric pads and the K split of the filter gradient. SwiftShader when
 * the machine has no GPU. Errors measured there: ≤ 1e-6.
 */
const TOLERANCE = 1e-4;
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

beforeAll(async () => {
  await initNodeBackend('cpu');
  await initNodeBackend('webgpu');
}, 30_000);
afterAll(() => useWebGpuKernels('all'));

/** Runs one kernel on a backend with inputs from fixed seeds and reads the result back. */
async function run(backend: 'cpu' | 'webgpu', kernel: string, inputs: Record<string, [readonly number[], number]>, attrs: object): Promise<Float32Array> {
  await tf.setBackend(backend);
  const out = tf.tidy(() => {
    const ins = Object.fromEntries(Object.entries(inputs).map(([name, [shape, seed]]) => [name, tf.tensor(randomNormal(size(shape), seed), [...shape])]));
    return tf.engine().runKernel(kernel, ins, attrs as NamedAttrMap) as Tensor;
  });
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

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

type Conv2DBackpropFilterCase = { x: readonly [number, number, number, number]; f: readonly [number, number, number, number]; strides: number | [number, number]; pad: 'same' | 'valid' | number; why: string };

/**
 * The shapes that exercise the GEMM's tiles and split; `ops.webgpu.test.ts` runs conv2d's whole
 * case table (pads, strides, the ResNet stem, 1×1 shortcuts) through these kernels too, forward
 * and both gradients against cpu.
 */
const FILTER_CASES: readonly Conv2DBackpropFilterCase[] = [
  ...CONV_CASES.filter((c) => (c.dilation ?? 1) === 1 && /stride 3|stem, pads 2/.test(c.why)).map((c) => ({ x: c.x, f: c.f, strides: c.strides as number | [number, number], pad: c.pad, why: c.why })),
  { x: [2, 16, 16, 16], f: [3, 3, 16, 64], strides: 1, pad: 'same', why: '64×64 tiles, K split in 2' },
  { x: [3, 17, 19, 24], f: [3, 3, 24, 40], strides: 2, pad: 'same', why: '128×32 tiles, partial tiles' },
  { x: [2, 30, 30, 5], f: [5, 5, 5, 8], strides: 1, pad: 2, why: '128×16 tiles, numeric pad' },
];

describe(`Conv2DBackpropFilter (implicit GEMM, K split) equals tfjs’ on cpu within ${TOLERANCE}`, () => {
  for (const c of FILTER_CASES) {
    const dyShape = caseData({ x: c.x, f: c.f, strides: c.strides, pad: c.pad, why: c.why }).yShape;
    it(`x [${c.x}] f [${c.f}] s ${String(c.strides)} ${c.pad} (${c.why})`, async () => {
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [...c.f] };
      const inputs = { x: [c.x, 11], dy: [dyShape, 12] } as Record<string, [readonly number[], number]>;
      const ref = await run('cpu', tf.Conv2DBackpropFilter, inputs, attrs);
      const got = await run('webgpu', tf.Conv2DBackpropFilter, inputs, attrs);
      expect(relativeError(got, ref)).toBeLessThan(TOLERANCE);
    }, 30_000);
  }
});

describe(`Conv2DBackpropInput (implicit GEMM) equals tfjs’ on cpu within ${TOLERANCE}`, () => {
  for (const c of FILTER_CASES) {
    const dyShape = caseData({ x: c.x, f: c.f, strides: c.strides, pad: c.pad, why: c.why }).yShape;
    it(`x [${c.x}] f [${c.f}] s ${String(c.strides)} ${c.pad} (${c.why})`, async () => {
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: [...c.x] };
      const inputs = { dy: [dyShape, 13], filter: [c.f, 14] } as Record<string, [readonly number[], number]>;
      const ref = await run('cpu', tf.Conv2DBackpropInput, inputs, attrs);
      const got = await run('webgpu', tf.Conv2DBackpropInput, inputs, attrs);
      expect(relativeError(got, ref)).toBeLessThan(TOLERANCE);
    }, 30_000);
  }
});

type Conv3DCase = { x: [number, number, number, number, number]; f: [number, number, number, number, number]; strides: [number, number, number]; pad: 'same' | 'valid' | number; why: string };
const CONV3D_CASES: readonly Conv3DCase[] = [
  { x: [2, 5, 6, 7, 2], f: [3, 3, 3, 2, 3], strides: [1, 1, 1], pad: 1, why: 'pad 1' },
  { x: [1, 6, 6, 6, 3], f: [3, 3, 3, 3, 4], strides: [2, 2, 2], pad: 'same', why: 'stride 2, same' },
  { x: [2, 3, 8, 7, 2], f: [3, 3, 3, 2, 3], strides: [1, 2, 2], pad: 1, why: 'no stride along depth (CSPR)' },
  { x: [1, 7, 7, 7, 2], f: [2, 2, 2, 2, 5], strides: [2, 2, 2], pad: 'valid', why: 'valid, the last voxel never read' },
  { x: [2, 8, 8, 8, 16], f: [3, 3, 3, 16, 32], strides: [1, 1, 1], pad: 1, why: '3D U-Net level 2, 128×32 tiles' },
  { x: [1, 6, 10, 10, 8], f: [1, 7, 7, 8, 64], strides: [1, 2, 2], pad: 'same', why: '64 channels, a 1×7×7 stem' },
];

describe(`Conv3D, Conv3DBackpropFilterV2, Conv3DBackpropInputV2 equal tfjs’ on cpu within ${TOLERANCE}`, () => {
  for (const c of CONV3D_CASES) {
    const info = tf.backend_util.computeConv3DInfo(c.x, c.f, c.strides, 1, c.pad);
    const attrs = { strides: c.strides, pad: c.pad, dilations: [1, 1, 1], dataFormat: 'NDHWC' };
    it(`forward: x [${c.x}] f [${c.f}] s [${c.strides}] ${c.pad} (${c.why})`, async () => {
      const inputs = { x: [c.x, 21], filter: [c.f, 22] } as Record<string, [readonly number[], number]>;
      expect(relativeError(await run('webgpu', tf.Conv3D, inputs, attrs), await run('cpu', tf.Conv3D, inputs, attrs))).toBeLessThan(TOLERANCE);
    }, 30_000);
    it(`filter gradient: x [${c.x}] f [${c.f}] s [${c.strides}] ${c.pad}`, async () => {
      const inputs = { x: [c.x, 23], dy: [info.outShape, 24] } as Record<string, [readonly number[], number]>;
      const a = { ...attrs, filterShape: c.f };
      expect(relativeError(await run('webgpu', tf.Conv3DBackpropFilterV2, inputs, a), await run('cpu', tf.Conv3DBackpropFilterV2, inputs, a))).toBeLessThan(TOLERANCE);
    }, 30_000);
    it(`input gradient: x [${c.x}] f [${c.f}] s [${c.strides}] ${c.pad}`, async () => {
      const inputs = { dy: [info.outShape, 25], filter: [c.f, 26] } as Record<string, [readonly number[], number]>;
      const a = { ...attrs, inputShape: c.x };
      expect(relativeError(await run('webgpu', tf.Conv3DBackpropInputV2, inputs, a), await run('cpu', tf.Conv3DBackpropInputV2, inputs, a))).toBeLessThan(TOLERANCE);
    }, 30_000);
  }
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

describe(`fused batch norm (+ residual + ReLU) and Adam on webgpu equal the composite ops on cpu within ${TOLERANCE}`, () => {
  const cases: { shape: number[]; relu: boolean; residual: boolean; shift?: number; why: string }[] = [
    { shape: [2, 5, 7, 3], relu: false, residual: false, why: 'plain, fewer rows than one chunk' },
    { shape: [4, 16, 16, 20], relu: true, residual: false, why: 'ReLU, 4 row chunks, a partial channel group' },
    { shape: [2, 12, 12, 16], relu: true, residual: true, why: 'ResNet block end: residual + ReLU' },
    { shape: [3, 9, 9, 5], relu: false, residual: true, why: 'residual without ReLU (dz is dy)' },
    { shape: [2, 4, 6, 6, 8], relu: true, residual: false, why: '5D (3D U-Net)' },
    { shape: [2, 10, 10, 4], relu: false, residual: false, shift: 1000, why: '|mean| ≫ std: the shifted variance' },
  ];
  const bnGrads = async (c: (typeof cases)[number]) => {
    const out = tf.tidy(() => {
      const n = size(c.shape);
      const ch = c.shape.at(-1)!;
      const x = tf.add(tf.tensor(randomNormal(n, 61), c.shape), c.shift ?? 0);
      const scale = tf.tensor1d(randomNormal(ch, 62));
      const offset = tf.tensor1d(randomNormal(ch, 63));
      const res = tf.tensor(randomNormal(n, 64), c.shape);
      const r = tf.tensor(randomNormal(n, 65), c.shape);
      const f = (xi: Tensor, s: Tensor, o: Tensor, q: Tensor) =>
        batchNormTrain(xi, s as tf.Tensor1D, o as tf.Tensor1D, { relu: c.relu, ...(c.residual ? { residual: q } : {}) });
      const { y, mean, variance } = f(x, scale, offset, res);
      const loss = (xi: Tensor, s: Tensor, o: Tensor, q: Tensor) => tf.sum(tf.mul(f(xi, s, o, q).y, r));
      const grads = c.residual ? tf.grads(loss)([x, scale, offset, res]) : tf.grads((xi: Tensor, s: Tensor, o: Tensor) => loss(xi, s, o, res))([x, scale, offset]);
      return [y, mean, variance, ...grads];
    });
    const data = (await Promise.all(out.map((t) => t.data()))) as Float32Array[];
    tf.dispose(out);
    return data;
  };
  for (const c of cases) {
    it(`[${c.shape}] relu ${c.relu} residual ${c.residual} (${c.why}): y, mean, variance and every gradient`, async () => {
      await tf.setBackend('cpu');
      expect(tomosortKernelActive(KernelName.BatchNormTrain)).toBe(false);
      const ref = await bnGrads(c);
      await tf.setBackend('webgpu');
      expect(tomosortKernelActive(KernelName.BatchNormTrain)).toBe(true);
      const got = await bnGrads(c);
      expect(got.length).toBe(ref.length);
      for (let i = 0; i < ref.length; i++) expect(relativeError(got[i]!, ref[i]!), `output ${i}`).toBeLessThan(TOLERANCE);
    }, 30_000);
  }
  it('AdamW, step 3: variable and both slots', async () => {
    const attrs = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 3, weightDecay: 0.05 };
    const step = async () => {
      const out = tf.tidy(() => {
        const [v, m, s, g] = [71, 72, 73, 74].map((seed) => tf.tensor(randomNormal(1000, seed), [10, 100]));
        const r = adamUpdate(v!, m!, tf.abs(s!), g!, attrs);
        return [r.variable, r.m, r.s];
      });
      const data = (await Promise.all(out.map((t) => t.data()))) as Float32Array[];
      tf.dispose(out);
      return data;
    };
    await tf.setBackend('cpu');
    const ref = await step();
    await tf.setBackend('webgpu');
    expect(tomosortKernelActive(KernelName.AdamUpdate)).toBe(true);
    const got = await step();
    for (let i = 0; i < 3; i++) expect(relativeError(got[i]!, ref[i]!)).toBeLessThan(TOLERANCE);
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
