import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { adamUpdate, batchNormTrain, nativeKernelsActive } from '@tomosort/backend';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNativeBackend } from './init';
import { nativeKernelsInstalled } from './registry';

// Every native kernel against tfjs' cpu backend (the reference) on a table of shapes: the same
// kernel call, same inputs, on 'cpu' and on 'wasm' with the native kernels installed.
// Tolerance: max |native − cpu| / max(1, max |cpu|) ≤ 1e-4.

const TOL = 1e-4;

/** Deterministic values in [−1, 1) (a fixed LCG), so every case is reproducible. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** The output shape of an op (run on zeros, then freed). */
function shapeOf(f: () => Tensor): number[] {
  const t = tf.tidy(f);
  const shape = [...t.shape];
  t.dispose();
  return shape;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

type Inputs = Record<string, { readonly shape: readonly number[]; readonly seed: number }>;

/** Runs `f` on cpu and on native, returns each output's values. */
async function onBoth(f: () => Tensor | Tensor[]): Promise<{ cpu: Float32Array[]; native: Float32Array[] }> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const outs = tf.tidy(() => {
      const o = f();
      return Array.isArray(o) ? o : [o];
    });
    const data = await Promise.all(outs.map(async (t) => Float32Array.from((await t.data()) as Float32Array)));
    tf.dispose(outs);
    return data;
  };
  const cpu = await run('cpu');
  const native = await run('wasm');
  return { cpu, native };
}

function relError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i]!) !== Number.isNaN(a[i]!)) return Infinity;
    if (Number.isNaN(b[i]!)) continue;
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

async function expectKernelAgrees(kernel: string, inputs: Inputs, attrs: Record<string, unknown>): Promise<void> {
  const { cpu, native } = await onBoth(() => {
    const ts = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(values(size(v.shape), v.seed), [...v.shape])]));
    return tf.engine().runKernel(kernel, ts, attrs as NamedAttrMap) as Tensor | Tensor[];
  });
  cpu.forEach((c, i) => expect(relError(native[i]!, c), `${kernel} output ${i}`).toBeLessThanOrEqual(TOL));
}

beforeAll(async () => {
  await initNativeBackend({ threads: 2 });
  expect(nativeKernelsInstalled()).toBe(true);
});

type Pad = 'same' | 'valid' | number;
interface Conv2dCase {
  readonly x: [number, number, number, number];
  readonly f: [number, number, number, number];
  readonly s: number | [number, number];
  readonly pad: Pad;
  readonly d?: number;
}

const conv2dCases: Conv2dCase[] = [
  { x: [1, 5, 5, 1], f: [3, 3, 1, 2], s: 1, pad: 'same' },
  { x: [2, 7, 6, 3], f: [3, 3, 3, 4], s: 2, pad: 'same' },
  { x: [2, 8, 8, 3], f: [1, 1, 3, 5], s: 2, pad: 'valid' },
  { x: [2, 8, 8, 3], f: [1, 1, 3, 5], s: 2, pad: 0 },
  { x: [2, 9, 9, 2], f: [7, 7, 2, 4], s: 2, pad: 3 },
  { x: [3, 16, 16, 1], f: [7, 7, 1, 8], s: 2, pad: 3 },
  { x: [2, 10, 10, 3], f: [3, 3, 3, 2], s: 3, pad: 'valid' },
  { x: [3, 6, 7, 4], f: [3, 2, 4, 5], s: [2, 1], pad: 1 },
  { x: [1, 4, 4, 2], f: [5, 5, 2, 2], s: 1, pad: 'same' },
  { x: [4, 8, 8, 16], f: [3, 3, 16, 32], s: 2, pad: 1 },
  { x: [1, 9, 8, 2], f: [3, 3, 2, 3], s: 1, pad: 'same', d: 2 },
];

const name = (c: Conv2dCase) => `x=[${c.x}] f=[${c.f}] s=${JSON.stringify(c.s)} pad=${JSON.stringify(c.pad)}${c.d ? ` d=${c.d}` : ''}`;

describe('nativeKernelsActive: told by the filter gradient tfjs-wasm lacks, not by our fused kernels', () => {
  it('is true on wasm with the addon, false on cpu, and stays true without the fused batch norm', async () => {
    await tf.setBackend('wasm');
    expect(nativeKernelsActive()).toBe(true);
    await tf.setBackend('cpu');
    expect(nativeKernelsActive()).toBe(false);
    await tf.setBackend('wasm');
    // Another wasm implementation of our fused kernels must not read as native: the marker is Conv2DBackpropFilter.
    const fused = tf.getKernel('TomosortBatchNormTrain', 'wasm')!;
    tf.unregisterKernel('TomosortBatchNormTrain', 'wasm');
    try {
      expect(nativeKernelsActive()).toBe(true);
    } finally {
      tf.registerKernel(fused);
    }
  });
});

describe('conv2d kernels equal the cpu backend', () => {
  it.each(conv2dCases)('Conv2D $x $f', async (c) => {
    await expectKernelAgrees('Conv2D', { x: { shape: c.x, seed: 1 }, filter: { shape: c.f, seed: 2 } }, { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dilations: c.d ?? 1 });
  });
  it.each(conv2dCases.filter((c) => !c.d))('Conv2DBackpropInput and Conv2DBackpropFilter %s', async (c) => {
    const out = shapeOf(() => tf.conv2d(tf.zeros<tf.Rank>(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.s, c.pad as 'same'));
    const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC' };
    await expectKernelAgrees('Conv2DBackpropInput', { dy: { shape: out, seed: 3 }, filter: { shape: c.f, seed: 2 } }, { ...attrs, inputShape: c.x });
    await expectKernelAgrees('Conv2DBackpropFilter', { x: { shape: c.x, seed: 1 }, dy: { shape: out, seed: 3 } }, { ...attrs, filterShape: c.f });
  });
  it('names the cases', () => expect(conv2dCases.map(name)).toContain('x=[2,8,8,3] f=[1,1,3,5] s=2 pad="valid"'));
  it.each(['relu', 'linear'] as const)('FusedConv2D with bias, %s', async (activation) => {
    await expectKernelAgrees(
      'FusedConv2D',
      { x: { shape: [2, 9, 9, 3], seed: 1 }, filter: { shape: [3, 3, 3, 4], seed: 2 }, bias: { shape: [4], seed: 5 } },
      { strides: 2, pad: 1, dataFormat: 'NHWC', dilations: 1, activation },
    );
  });
});

interface Conv3dCase {
  readonly x: [number, number, number, number, number];
  readonly f: [number, number, number, number, number];
  readonly s: number;
  readonly pad: Pad;
}
const conv3dCases: Conv3dCase[] = [
  { x: [1, 5, 6, 7, 2], f: [3, 3, 3, 2, 3], s: 1, pad: 'same' },
  { x: [2, 8, 8, 8, 2], f: [3, 3, 3, 2, 4], s: 2, pad: 1 },
  { x: [2, 7, 7, 7, 3], f: [1, 1, 1, 3, 2], s: 2, pad: 'valid' },
  { x: [2, 8, 8, 8, 3], f: [1, 1, 1, 3, 2], s: 2, pad: 0 },
  { x: [1, 9, 9, 9, 1], f: [7, 7, 7, 1, 4], s: 2, pad: 3 },
];

describe('conv3d kernels equal the cpu backend', () => {
  it.each(conv3dCases)('Conv3D, Conv3DBackpropInputV2, Conv3DBackpropFilterV2 x=$x f=$f s=$s pad=$pad', async (c) => {
    const attrs = { strides: [c.s, c.s, c.s], pad: c.pad, dataFormat: 'NDHWC', dilations: [1, 1, 1] };
    await expectKernelAgrees('Conv3D', { x: { shape: c.x, seed: 1 }, filter: { shape: c.f, seed: 2 } }, attrs);
    const out = shapeOf(() => tf.engine().runKernel('Conv3D', { x: tf.zeros(c.x), filter: tf.zeros(c.f) }, attrs as NamedAttrMap) as Tensor);
    await expectKernelAgrees('Conv3DBackpropInputV2', { dy: { shape: out, seed: 3 }, filter: { shape: c.f, seed: 2 } }, { ...attrs, inputShape: c.x });
    await expectKernelAgrees('Conv3DBackpropFilterV2', { x: { shape: c.x, seed: 1 }, dy: { shape: out, seed: 3 } }, { ...attrs, filterShape: c.f });
  });
});

interface PoolCase {
  readonly x: number[];
  readonly f: number;
  readonly s: number;
  readonly pad: Pad;
}
const pool2dCases: PoolCase[] = [
  { x: [2, 8, 8, 3], f: 3, s: 2, pad: 1 },
  { x: [2, 7, 9, 4], f: 2, s: 2, pad: 'valid' },
  { x: [1, 5, 5, 17], f: 3, s: 1, pad: 'same' },
  { x: [3, 9, 9, 2], f: 3, s: 2, pad: 'same' },
];
const pool3dCases: PoolCase[] = [
  { x: [2, 6, 6, 6, 3], f: 3, s: 2, pad: 1 },
  { x: [1, 5, 7, 6, 2], f: 2, s: 2, pad: 'valid' },
  { x: [1, 5, 5, 5, 18], f: 3, s: 1, pad: 'same' },
];

describe('pooling kernels equal the cpu backend (signed inputs: padding never wins, ties go first)', () => {
  it.each(pool2dCases)('MaxPool, AvgPool and their gradients x=$x f=$f s=$s pad=$pad', async (c) => {
    const attrs = { filterSize: c.f, strides: c.s, pad: c.pad };
    const out = shapeOf(() => tf.maxPool(tf.zeros<tf.Rank>(c.x) as tf.Tensor4D, c.f, c.s, c.pad as 'same'));
    await expectKernelAgrees('MaxPool', { x: { shape: c.x, seed: 1 } }, attrs);
    await expectKernelAgrees('AvgPool', { x: { shape: c.x, seed: 1 } }, attrs);
    await expectKernelAgrees('AvgPoolGrad', { dy: { shape: out, seed: 3 }, input: { shape: c.x, seed: 1 } }, attrs);
    // MaxPoolGrad takes the forward output too: compute it on each backend.
    const { cpu, native } = await onBoth(() => {
      const x = tf.tensor<tf.Rank>(values(size(c.x), 1), c.x) as tf.Tensor4D;
      const y = tf.maxPool(x, c.f, c.s, c.pad as 'same');
      return tf.engine().runKernel('MaxPoolGrad', { dy: tf.tensor(values(size(out), 3), out), input: x, output: y }, attrs as NamedAttrMap) as Tensor;
    });
    expect(relError(native[0]!, cpu[0]!)).toBeLessThanOrEqual(TOL);
  });
  it('MaxPoolGrad sends a tie to the first maximum of the window', async () => {
    const { cpu, native } = await onBoth(() => {
      const x = tf.tensor4d([-1, -1, -1, -1], [1, 2, 2, 1]);
      return tf.engine().runKernel('MaxPoolGrad', { dy: tf.tensor4d([5], [1, 1, 1, 1]), input: x, output: tf.maxPool(x, 2, 2, 'valid') }, { filterSize: 2, strides: 2, pad: 'valid' }) as Tensor;
    });
    expect(Array.from(native[0]!)).toEqual([5, 0, 0, 0]);
    expect(Array.from(cpu[0]!)).toEqual([5, 0, 0, 0]);
  });
  it.each(pool3dCases)('MaxPool3D, AvgPool3D and their gradients x=$x f=$f s=$s pad=$pad', async (c) => {
    const attrs = { filterSize: c.f, strides: c.s, pad: c.pad, dataFormat: 'NDHWC' };
    const out = shapeOf(() => tf.maxPool3d(tf.zeros<tf.Rank>(c.x) as tf.Tensor5D, c.f, c.s, c.pad as 'same'));
    await expectKernelAgrees('MaxPool3D', { x: { shape: c.x, seed: 1 } }, attrs);
    await expectKernelAgrees('AvgPool3D', { x: { shape: c.x, seed: 1 } }, attrs);
    await expectKernelAgrees('MaxPool3DGrad', { dy: { shape: out, seed: 3 }, input: { shape: c.x, seed: 1 } }, attrs);
    await expectKernelAgrees('AvgPool3DGrad', { dy: { shape: out, seed: 3 }, input: { shape: c.x, seed: 1 } }, attrs);
  });
});

/** Nearest-neighbour upsampling's gradient by hand: each input pixel sums its f × g block of dy. */
function blockSums(dy: Float32Array, shape: readonly number[], f: number, g: number): Float32Array {
  const [n, h, w, c] = shape as [number, number, number, number];
  const out = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h * f; y++)
      for (let x = 0; x < w * g; x++)
        for (let k = 0; k < c; k++) out[((b * h + Math.floor(y / f)) * w + Math.floor(x / g)) * c + k]! += dy[((b * h * f + y) * w * g + x) * c + k]!;
  return out;
}

describe('ResizeNearestNeighborGrad: whole factors on the addon, the rest on the original kernel', () => {
  // tfjs 4.22's cpu kernel is wrong for batch > 1 (train/src/native.test.ts): batches compare with the hand sums.
  it.each([
    { x: [1, 3, 4, 5], out: [6, 8] },
    { x: [3, 4, 4, 16], out: [8, 8] },
    { x: [2, 2, 3, 3], out: [6, 6] },
    { x: [2, 5, 5, 2], out: [5, 10] },
  ])('x=$x → $out equals the block sums', async (c) => {
    const dyShape = [c.x[0]!, c.out[0]!, c.out[1]!, c.x[3]!];
    const dy = values(size(dyShape), 3);
    const { cpu, native } = await onBoth(() => tf.engine().runKernel('ResizeNearestNeighborGrad', { images: tf.zeros(c.x), dy: tf.tensor(dy, dyShape) }, { alignCorners: false, halfPixelCenters: false }) as Tensor);
    const want = blockSums(dy, c.x, c.out[0]! / c.x[1]!, c.out[1]! / c.x[2]!);
    expect(relError(native[0]!, want)).toBeLessThanOrEqual(TOL);
    if (c.x[0] === 1) expect(relError(cpu[0]!, want)).toBeLessThanOrEqual(TOL);
  });
  it.each([
    { x: [1, 2, 2, 3], out: [3, 5], attrs: { alignCorners: false, halfPixelCenters: false } },
    { x: [1, 3, 3, 2], out: [6, 6], attrs: { alignCorners: true, halfPixelCenters: false } },
    { x: [1, 3, 3, 2], out: [6, 6], attrs: { alignCorners: false, halfPixelCenters: true } },
  ])('x=$x → $out $attrs runs the original kernel, equal to cpu', async (c) => {
    await expectKernelAgrees('ResizeNearestNeighborGrad', { images: { shape: c.x, seed: 1 }, dy: { shape: [1, c.out[0]!, c.out[1]!, c.x[3]!], seed: 3 } }, c.attrs);
  });
});

describe('BatchMatMul equals the cpu backend', () => {
  it.each([
    { a: [2, 3, 4], b: [2, 4, 5], ta: false, tb: false },
    { a: [2, 4, 3], b: [2, 4, 5], ta: true, tb: false },
    { a: [1, 3, 4], b: [3, 5, 4], ta: false, tb: true },
    { a: [3, 4, 3], b: [1, 5, 4], ta: true, tb: true },
    { a: [1, 32, 128], b: [1, 128, 32], ta: false, tb: false },
  ])('a=$a b=$b transposeA=$ta transposeB=$tb', async (c) => {
    await expectKernelAgrees('BatchMatMul', { a: { shape: c.a, seed: 1 }, b: { shape: c.b, seed: 2 } }, { transposeA: c.ta, transposeB: c.tb });
  });
});

describe('Add, Multiply, Sub equal the cpu backend (same shape, a single value either side, and a broadcast left to wasm)', () => {
  it.each(['Add', 'Multiply', 'Sub'])('%s', async (kernel) => {
    for (const [a, b] of [
      [[3, 70000], [3, 70000]],
      [[5, 4], [1]],
      [[1], [2, 3, 4]],
      [[4, 1], [1, 6]],
      [[1, 1], [1]],
    ]) {
      await expectKernelAgrees(kernel, { a: { shape: a!, seed: 1 }, b: { shape: b!, seed: 2 } }, {});
    }
  });
});

describe('fused batch norm (training) equals the composite ops on cpu, forward and backward', () => {
  const cases = [
    { x: [4, 5, 5, 8], relu: false, residual: false },
    { x: [4, 5, 5, 8], relu: true, residual: false },
    { x: [2, 6, 6, 24], relu: true, residual: true },
    { x: [16, 3], relu: true, residual: false },
    { x: [2, 3, 3, 3, 5], relu: true, residual: true },
  ];
  it.each(cases)('x=$x relu=$relu residual=$residual: y, mean, variance and every gradient', async (c) => {
    const { cpu, native } = await onBoth(() => {
      const x = tf.add(tf.mul(tf.tensor(values(size(c.x), 1), c.x), 3), 0.5);
      const C = c.x.at(-1)!;
      const scale = tf.add(tf.tensor1d(values(C, 2)), 1.2) as tf.Tensor1D;
      const offset = tf.tensor1d(values(C, 3)) as tf.Tensor1D;
      const residual = tf.tensor(values(size(c.x), 4), c.x);
      const weight = tf.tensor(values(size(c.x), 5), c.x);
      const f = (xi: Tensor, s: Tensor, o: Tensor, r: Tensor) => {
        const out = batchNormTrain(xi, s as tf.Tensor1D, o as tf.Tensor1D, { relu: c.relu, ...(c.residual ? { residual: r } : {}) });
        return out;
      };
      const { y, mean, variance } = f(x, scale, offset, residual);
      const xs = c.residual ? [x, scale, offset, residual] : [x, scale, offset];
      const grads = tf.grads((...a: Tensor[]) => tf.sum(tf.mul(f(a[0]!, a[1]!, a[2]!, a[3] ?? residual).y, weight)))(xs);
      return [y, mean, variance, ...grads];
    });
    const names = ['y', 'mean', 'variance', 'dx', 'dscale', 'doffset', 'dresidual'];
    cpu.forEach((v, i) => expect(relError(native[i]!, v), names[i]).toBeLessThanOrEqual(TOL));
  });

  it("the native gradient matches central finite differences of the cpu composite", async () => {
    // Loss L = Σ w·relu(bn(x) + r); d L / d x[i] by central differences of the cpu composite, in float32
    // with h = 1e-2 on a tiny tensor, against the native backward kernel.
    const shape = [3, 2, 2, 3];
    const xs = values(size(shape), 7);
    const w = values(size(shape), 8);
    const r = values(size(shape), 9);
    const loss = (x: Float32Array): number =>
      tf.tidy(() => {
        const { y } = batchNormTrain(tf.tensor(x, shape), tf.tensor1d([1.5, 0.7, 1.1]), tf.tensor1d([0.1, -0.2, 0.3]), { relu: true, residual: tf.tensor(r, shape) });
        return tf.sum(tf.mul(y, tf.tensor(w, shape))).dataSync()[0]!;
      });
    await tf.setBackend('cpu');
    const h = 1e-2;
    const fd = Array.from(xs, (_, i) => {
      const up = Float32Array.from(xs);
      const down = Float32Array.from(xs);
      up[i] = up[i]! + h;
      down[i] = down[i]! - h;
      return (loss(up) - loss(down)) / (2 * h);
    });
    await tf.setBackend('wasm');
    const analytic = tf.tidy(() =>
      tf
        .grad((x: Tensor) => tf.sum(tf.mul(batchNormTrain(x, tf.tensor1d([1.5, 0.7, 1.1]), tf.tensor1d([0.1, -0.2, 0.3]), { relu: true, residual: tf.tensor(r, shape) }).y, tf.tensor(w, shape))))(tf.tensor(xs, shape))
        .dataSync(),
    );
    for (let i = 0; i < fd.length; i++) expect(Math.abs(analytic[i]! - fd[i]!)).toBeLessThan(2e-2);
  });
});

describe('Adam update equals the composite ops on cpu', () => {
  it.each([
    { n: [7], step: 1, weightDecay: 0 },
    { n: [3, 3, 4, 5], step: 17, weightDecay: 0.01 },
  ])('shape $n step $step weight decay $weightDecay', async (c) => {
    const { cpu, native } = await onBoth(() => {
      const t = (seed: number, f = (x: Tensor) => x) => f(tf.tensor(values(size(c.n), seed), c.n));
      const next = adamUpdate(t(1), t(2), t(3, (x) => tf.abs(x)), t(4), { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: c.step, weightDecay: c.weightDecay });
      return [next.variable, next.m, next.s];
    });
    cpu.forEach((v, i) => expect(relError(native[i]!, v)).toBeLessThanOrEqual(TOL));
  });
});

describe('native gradients match central finite differences (small cases)', () => {
  // L = Σ w·op(x); dL/dx[i] ≈ (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h, every element, on the native backend.
  // Convolutions and average pooling are linear in x, so the difference is exact up to float32
  // rounding; max pooling too while no window's maximum changes (inputs spaced ≥ 0.05 apart, h = 1e-3).
  const cases: { name: string; x: number[]; f?: number[]; op: (x: Tensor, f?: Tensor) => Tensor }[] = [
    { name: 'conv2d x=[2,5,5,2] f=[3,3,2,3] s=2 pad 1', x: [2, 5, 5, 2], f: [3, 3, 2, 3], op: (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 1) },
    { name: 'conv2d x=[1,6,6,2] f=[1,1,2,2] s=2 valid', x: [1, 6, 6, 2], f: [1, 1, 2, 2], op: (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'valid') },
    { name: 'conv3d x=[1,4,4,4,2] f=[3,3,3,2,2] s=2 pad 1', x: [1, 4, 4, 4, 2], f: [3, 3, 3, 2, 2], op: (x, f) => tf.conv3d(x as tf.Tensor5D, f as tf.Tensor5D, 2, 1 as unknown as 'same') },
    { name: 'maxPool x=[1,5,5,2] 3×3/2 pad 1', x: [1, 5, 5, 2], op: (x) => tf.maxPool(x as tf.Tensor4D, 3, 2, 1 as unknown as 'same') },
    { name: 'avgPool x=[1,4,5,2] 2×2/2 valid', x: [1, 4, 5, 2], op: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid') },
    { name: 'maxPool3d x=[1,4,4,4,1] 3/2 pad 1', x: [1, 4, 4, 4, 1], op: (x) => tf.maxPool3d(x as tf.Tensor5D, 3, 2, 1 as unknown as 'same') },
  ];
  it.each(cases)('$name: d/dx (and d/dfilter)', async (c) => {
    await tf.setBackend('wasm');
    // Distinct, well-separated values: a permutation of 0.05·k, shifted to be signed.
    const n = size(c.x);
    const perm = Array.from(values(n, 11), (v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
    const xs = new Float32Array(n);
    perm.forEach((i, k) => (xs[i] = 0.05 * k - 0.025 * n));
    const fs = c.f ? values(size(c.f), 12) : undefined;
    const outShape = shapeOf(() => c.op(tf.tensor(xs, c.x), fs ? tf.tensor(fs, c.f) : undefined));
    const w = tf.tensor(values(size(outShape), 13), outShape);
    const loss = (x: Float32Array, f?: Float32Array) => tf.tidy(() => tf.sum(tf.mul(c.op(tf.tensor(x, c.x), f ? tf.tensor(f, c.f) : undefined), w)).dataSync()[0]!);
    const h = 1e-3;
    const numeric = (v: Float32Array, at: (u: Float32Array) => number) =>
      Array.from(v, (_, i) => {
        const up = Float32Array.from(v);
        const down = Float32Array.from(v);
        up[i] = up[i]! + h;
        down[i] = down[i]! - h;
        return (at(up) - at(down)) / (2 * h);
      });
    const [gx, gf] = tf.tidy(() => {
      const xt = tf.tensor(xs, c.x);
      if (!fs) return [tf.grad((x: Tensor) => tf.sum(tf.mul(c.op(x), w)))(xt).dataSync()];
      const g = tf.grads((x: Tensor, f: Tensor) => tf.sum(tf.mul(c.op(x, f), w)))([xt, tf.tensor(fs, c.f)]);
      return g.map((t) => t.dataSync());
    });
    const nx = numeric(xs, (u) => loss(u, fs));
    nx.forEach((v, i) => expect(Math.abs(gx![i]! - v), `d/dx[${i}]`).toBeLessThan(2e-2 * Math.max(1, Math.abs(v))));
    if (fs) {
      const nf = numeric(fs, (u) => loss(xs, u));
      nf.forEach((v, i) => expect(Math.abs(gf![i]! - v), `d/df[${i}]`).toBeLessThan(2e-2 * Math.max(1, Math.abs(v))));
    }
    w.dispose();
  });
});
