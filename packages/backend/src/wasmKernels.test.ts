import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from './node';
import { randomNormal, relativeError } from './testing/conv2dCases';

/**
 * Which kernels training needs on wasm (tfjs 4.22). The backward kernels of conv2d and
 * depthwise conv2d are missing (this package's conv2d routes around them); MaxPoolGrad is there
 * but wrong for windows whose maximum is ≤ 0 (this package's maxPool routes around it); the rest
 * of a CNN's gradients (average pooling, ReLU, batch norm, matMul) agree with cpu.
 */
beforeAll(async () => {
  await initNodeBackend('cpu');
  await initNodeBackend('wasm');
});

describe('wasm kernel coverage', () => {
  it.each(['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'])(
    '%s: missing on wasm',
    (k) => {
      expect(tf.getKernel(k, 'wasm')).toBeUndefined();
      expect(tf.getKernel(k, 'cpu')).toBeDefined();
    },
  );
  it.each(['Conv2D', 'Conv2DBackpropInput', 'MaxPoolGrad', 'AvgPoolGrad', 'Step', 'FusedBatchNorm', 'BatchMatMul', 'Transpose', 'PadV2'])(
    '%s: present on wasm',
    (k) => {
      expect(tf.getKernel(k, 'wasm')).toBeDefined();
    },
  );
});

/** Gradient of Σ f(x) · r w.r.t. x on the current backend. */
async function gradOf(f: (x: Tensor4D) => Tensor, x: Float32Array, shape: [number, number, number, number]): Promise<Float32Array> {
  const g = tf.tidy(() => {
    const xt = tf.tensor4d(x, shape);
    const r = tf.tensor(randomNormal(tf.tidy(() => f(xt)).size, 99), f(xt).shape);
    return tf.grad((a: Tensor) => tf.sum(tf.mul(f(a as Tensor4D), r)))(xt);
  });
  const out = (await g.data()) as Float32Array;
  g.dispose();
  return out;
}

const ops: [string, (x: Tensor4D) => Tensor][] = [
  ['maxPool 3×3/2 same after relu', (x) => tf.maxPool(tf.relu(x), 3, 2, 'same')],
  ['maxPool 2×2/2 valid after relu', (x) => tf.maxPool(tf.relu(x), 2, 2, 'valid')],
  ['avgPool 2×2/2 valid', (x) => tf.avgPool(x, 2, 2, 'valid')],
  ['avgPool 3×3/1 same', (x) => tf.avgPool(x, 3, 1, 'same')],
  ['relu', (x) => tf.relu(x)],
  ['global mean over H, W', (x) => tf.mean(x, [1, 2])],
  [
    'batch norm with batch moments, scale and offset',
    (x) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm(x, mean, variance, tf.zeros([4]), tf.fill([4], 1.5), 1e-5);
    },
  ],
  ['matMul [2·6·6, 4] × [4, 5]', (x) => tf.matMul(tf.reshape(x, [72, 4]), tf.tensor2d(randomNormal(20, 7), [4, 5]))],
];

describe('stock gradients on wasm equal cpu within 1e-4, x=[2,6,6,4]', () => {
  const shape: [number, number, number, number] = [2, 6, 6, 4];
  const x = randomNormal(2 * 6 * 6 * 4, 5);
  for (const [name, f] of ops) {
    it(name, async () => {
      await tf.setBackend('cpu');
      const ref = await gradOf(f, x, shape);
      await tf.setBackend('wasm');
      const got = await gradOf(f, x, shape);
      expect(relativeError(got, ref)).toBeLessThan(1e-4);
    });
  }

  it('tfjs 4.22: MaxPoolGrad on wasm routes a window whose maximum is < 0 to the wrong input ([-3,-1,-2,-4] → index 0)', async () => {
    await tf.setBackend('wasm');
    const g = tf.grad((a: Tensor) => tf.sum(tf.maxPool(a as Tensor4D, 2, 2, 'valid')))(tf.tensor4d([-3, -1, -2, -4], [1, 2, 2, 1]));
    expect(Array.from(await g.data())).toEqual([1, 0, 0, 0]); // cpu and TensorFlow: [0, 1, 0, 0]
  });

  it('tfjs 4.22: tf.batchNorm without scale and offset has no usable gradient (pass tensors for both)', async () => {
    await tf.setBackend('wasm');
    const f = (a: Tensor): Tensor => {
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      return tf.sum(tf.batchNorm(a as Tensor4D, mean, variance, undefined, undefined, 1e-5));
    };
    expect(() => tf.tidy(() => tf.grad(f)(tf.tensor4d(x, shape)))).toThrow();
  });
});

describe('Identity on wasm (installed by initBackend) shares the data instead of copying it', () => {
  it('a clone holds the same values without new data, and outlives its source', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([1, 2, 3]);
    const before = tf.backend().numDataIds();
    const y = tf.clone(x);
    expect(tf.backend().numDataIds()).toBe(before);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3]);
    y.dispose();
    expect(tf.backend().numDataIds()).toBe(before - 1);
  });
});

describe('Slice and SplitV on wasm (installed by initBackend) read only the box they copy, with tfjs’ results', () => {
  const cases: { shape: number[]; begin: number[]; size: number[]; dtype: 'float32' | 'int32' | 'bool' }[] = [
    { shape: [6], begin: [2], size: [3], dtype: 'float32' },
    { shape: [4, 5], begin: [1, 0], size: [2, 5], dtype: 'float32' },
    { shape: [4, 5], begin: [1, 2], size: [3, 2], dtype: 'int32' },
    { shape: [2, 3, 4, 40], begin: [1, 0, 1, 3], size: [1, 3, 2, 35], dtype: 'float32' },
    { shape: [2, 18, 2, 9], begin: [0, 3, 1, 0], size: [2, 5, 1, 9], dtype: 'float32' },
    { shape: [2, 3, 2, 2, 3, 2], begin: [0, 1, 0, 1, 1, 0], size: [2, 2, 2, 1, 2, 2], dtype: 'float32' },
    { shape: [3, 4], begin: [0, 1], size: [3, 2], dtype: 'bool' },
    { shape: [3, 4], begin: [1, 1], size: [0, 2], dtype: 'float32' },
  ];
  it.each(cases)('x $shape [$dtype] from $begin size $size', async (c) => {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const data = Array.from({ length: n }, (_, i) => (c.dtype === 'bool' ? i % 3 === 0 : i * 1.5 - 7));
    const on = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const x = tf.tensor(data as number[], c.shape, c.dtype);
      const [a, b, rest] = tf.split(tf.reshape(x, [n]), [1, Math.floor(n / 2), n - 1 - Math.floor(n / 2)]);
      return { slice: Array.from(await tf.slice(x, c.begin, c.size).data()), split: [a!, b!, rest!].map((t) => Array.from(t.dataSync())) };
    };
    expect(await on('wasm')).toEqual(await on('cpu'));
  });
});
