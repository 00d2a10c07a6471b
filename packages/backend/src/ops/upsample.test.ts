import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { OpArgumentError } from '../errors';
import { initNodeBackend } from '../node';
import { randomNormal, relativeError } from '../testing/conv2dCases';
import { upsampleNearest } from './upsample';

beforeAll(async () => {
  await initNodeBackend('cpu');
  await initNodeBackend('wasm');
});

/** dL/dx of L = Σ resize(x) · r, by hand: each output pixel's r goes to its source pixel ⌊dst · in / out⌋. */
function handGradient(x: readonly number[], size: readonly [number, number], r: Float32Array): Float32Array {
  const [n, h, w, c] = x as [number, number, number, number];
  const dx = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < size[0]; i++)
      for (let j = 0; j < size[1]; j++)
        for (let k = 0; k < c; k++) {
          const si = Math.floor((i * h) / size[0]);
          const sj = Math.floor((j * w) / size[1]);
          dx[((b * h + si) * w + sj) * c + k]! += r[((b * size[0] + i) * size[1] + j) * c + k]!;
        }
  return dx;
}

describe('upsampleNearest: the value of tf.image.resizeNearestNeighbor, the gradient by hand', () => {
  const cases: { x: [number, number, number, number]; size: [number, number]; pooled: boolean }[] = [
    { x: [2, 4, 4, 3], size: [8, 8], pooled: true },
    { x: [1, 3, 5, 2], size: [9, 5], pooled: true },
    // tfjs' own gradient (one image: its cpu kernel is wrong for a batch, see below).
    { x: [1, 4, 4, 3], size: [7, 9], pooled: false },
  ];
  it.each(cases.flatMap((c) => (['cpu', 'wasm'] as const).map((backend) => ({ ...c, backend }))))(
    '$backend x=$x → $size (average-pooled gradient: $pooled)',
    async (c) => {
      await tf.setBackend(c.backend);
      const n = c.x.reduce((a, b) => a * b);
      const x = tf.tensor4d(randomNormal(n, 1), c.x);
      const rValues = randomNormal(c.x[0] * c.size[0] * c.size[1] * c.x[3], 2);
      const r = tf.tensor4d(rValues, [c.x[0], ...c.size, c.x[3]]);
      const grad = tf.grad((a: Tensor) => tf.sum(tf.mul(upsampleNearest(a as Tensor4D, c.size), r)));
      expect(Array.from(upsampleNearest(x, c.size).dataSync())).toEqual(Array.from(tf.image.resizeNearestNeighbor(x, c.size).dataSync()));
      expect(relativeError(grad(x).dataSync() as Float32Array, handGradient(c.x, c.size, rValues))).toBeLessThanOrEqual(1e-6);
      const { kernelNames } = await tf.profile(() => grad(x));
      expect(kernelNames.includes('AvgPool')).toBe(c.pooled);
      expect(kernelNames.includes('ResizeNearestNeighborGrad')).toBe(!c.pooled);
    },
  );

  it("tfjs' own cpu gradient of a 2× resize of a batch is wrong (why the cpu reference above is by hand)", async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor4d(randomNormal(2 * 4 * 4 * 3, 1), [2, 4, 4, 3]);
    const rValues = randomNormal(2 * 8 * 8 * 3, 2);
    const r = tf.tensor4d(rValues, [2, 8, 8, 3]);
    const stock = tf.grad((a: Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as Tensor4D, [8, 8]), r)))(x);
    expect(relativeError(stock.dataSync() as Float32Array, handGradient([2, 4, 4, 3], [8, 8], rValues))).toBeGreaterThan(0.1);
  });

  it('the same size is x itself; a bad size is an OpArgumentError naming the op', async () => {
    await tf.setBackend('cpu');
    const x = tf.zeros([1, 2, 2, 1]) as Tensor4D;
    expect(upsampleNearest(x, [2, 2])).toBe(x);
    expect(() => upsampleNearest(x, [0, 2])).toThrow(OpArgumentError);
    expect(() => upsampleNearest(x, [0, 2])).toThrow(/^Error in upsampleNearest: size must be positive integers/);
  });
});
