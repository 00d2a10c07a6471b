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
    expect(Array.from(mean.dataSync())).toEqual(Array.from(m.mean.dataSync()));
    expect(Array.from(variance.dataSync())).toEqual(Array.from(m.variance.dataSync()));
  });

  it('builds no full-size copy of a per-channel tensor in its gradient (no Tile), as stock tfjs does', async () => {
    const x = tf.tensor(values(2 * 4 * 4 * 6, 6), [2, 4, 4, 6]);
    const scale = tf.ones([6]) as tf.Tensor1D;
    const offset = tf.zeros([6]) as tf.Tensor1D;
    const { kernels } = await tf.profile(() => tf.grads((a: Tensor, s: Tensor, o: Tensor) => tf.sum(batchNormTrain(a, s as tf.Tensor1D, o as tf.Tensor1D, { relu: true }).y))([x, scale, offset]));
    const names = kernels.map((k) => k.name);
    expect(names).not.toContain('Tile');
    // Stock tfjs on the same loss does tile (the reason for the custom gradient).
    const stockRun = await tf.profile(() => tf.grads((a: Tensor, s: Tensor, o: Tensor) => tf.sum(stock(a, s, o, true, undefined)))([x, scale, offset]));
    expect(stockRun.kernels.map((k) => k.name)).toContain('Tile');
  });
});
