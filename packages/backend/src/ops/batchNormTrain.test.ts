import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Tensor } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerGradients } from '../gradients';
import { randomNormal as values, relativeError } from '../testing/conv2dCases';
import { batchNormTrain } from './batchNormTrain';

// The composite (non-native) batchNormTrain against stock tfjs on cpu: tf.moments + tf.batchNorm
// (+ add, + relu) with tfjs' own gradients through every op, the statistics included.

function stock(x: Tensor, scale: Tensor, offset: Tensor, relu: boolean, residual: Tensor | undefined): Tensor {
  const rows = tf.reshape(x, [-1, x.shape.at(-1)!]);
  const { mean, variance } = tf.moments(rows, [0]);
  let y: Tensor = tf.reshape(tf.batchNorm(rows, mean, variance, offset as tf.Tensor1D, scale as tf.Tensor1D, 1e-5), x.shape);
  if (residual) y = tf.add(y, residual);
  return relu ? tf.relu(y) : y;
}

beforeAll(async () => {
  await registerGradients();
  await tf.setBackend('cpu');
});

const cases = [
  { x: [4, 5, 5, 8], relu: false, residual: false },
  { x: [2, 6, 6, 24], relu: true, residual: true },
  { x: [16, 3], relu: true, residual: false },
  { x: [2, 3, 3, 3, 5], relu: true, residual: true },
];

describe('batchNormTrain without native kernels', () => {
  it.each(cases)('x=$x relu=$relu residual=$residual: y, mean, variance and every gradient equal stock tfjs', (c) => {
    const n = c.x.reduce((a, b) => a * b, 1);
    const C = c.x.at(-1)!;
    const x = tf.add(tf.mul(tf.tensor(values(n, 1), c.x), 3), 0.5);
    const scale = tf.add(tf.tensor1d(values(C, 2)), 1.2);
    const offset = tf.tensor1d(values(C, 3));
    const residual = tf.tensor(values(n, 4), c.x);
    const weight = tf.tensor(values(n, 5), c.x);
    const inputs = c.residual ? [x, scale, offset, residual] : [x, scale, offset];
    const ours = (...a: Tensor[]) => batchNormTrain(a[0]!, a[1] as tf.Tensor1D, a[2] as tf.Tensor1D, { relu: c.relu, ...(c.residual ? { residual: a[3]! } : {}) });
    const theirs = (...a: Tensor[]) => stock(a[0]!, a[1]!, a[2]!, c.relu, a[3]);
    const got = [ours(...inputs).y, ...tf.grads((...a: Tensor[]) => tf.sum(tf.mul(ours(...a).y, weight)))(inputs)];
    const want = [theirs(...inputs), ...tf.grads((...a: Tensor[]) => tf.sum(tf.mul(theirs(...a), weight)))(inputs)];
    const names = ['y', 'dx', 'dscale', 'doffset', 'dresidual'];
    got.forEach((g, i) => expect(relativeError(g.dataSync() as Float32Array, want[i]!.dataSync() as Float32Array), names[i]).toBeLessThanOrEqual(1e-5));
    const { mean, variance } = batchNormTrain(x, scale as tf.Tensor1D, offset as tf.Tensor1D);
    const m = tf.moments(tf.reshape(x, [-1, C]), [0]);
    // Sums in another order (a matMul over strips): equal to float32 rounding.
    expect(relativeError(mean.dataSync() as Float32Array, m.mean.dataSync() as Float32Array)).toBeLessThanOrEqual(1e-6);
    expect(relativeError(variance.dataSync() as Float32Array, m.variance.dataSync() as Float32Array)).toBeLessThanOrEqual(1e-6);
  });

  it('builds no full-size copy of a per-channel tensor (Tile only to one strip row), as stock tfjs does', async () => {
    const x = tf.tensor(values(2 * 16 * 16 * 6, 6), [2, 16, 16, 6]);
    const scale = tf.ones([6]) as tf.Tensor1D;
    const offset = tf.zeros([6]) as tf.Tensor1D;
    const loss = (f: (a: Tensor, s: Tensor, o: Tensor) => Tensor) => tf.profile(() => tf.grads((a: Tensor, s: Tensor, o: Tensor) => tf.sum(f(a, s, o)))([x, scale, offset]));
    const tiles = (p: Awaited<ReturnType<typeof tf.profile>>) => p.kernels.filter((k) => k.name === 'Tile').map((k) => tf.util.sizeFromShape(k.outputShapes[0] as number[]));
    const ours = await loss((a, s, o) => batchNormTrain(a, s as tf.Tensor1D, o as tf.Tensor1D, { relu: true }).y);
    // One strip row: k = 32 rows of 6 channels (the largest k ≤ ⌈256 / 6⌉ dividing the 512 rows), 192 values.
    expect(new Set(tiles(ours))).toEqual(new Set([192]));
    // Stock tfjs on the same loss tiles [C] tensors to x's full size (the reason for the custom gradient).
    const stockRun = await loss((a, s, o) => stock(a, s, o, true, undefined));
    expect(Math.max(...tiles(stockRun))).toBe(x.size);
  });
});
