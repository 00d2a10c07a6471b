import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { OpArgumentError } from '../errors';
import { initNodeBackend } from '../node';
import { randomNormal, relativeError } from '../testing/conv2dCases';
import type { Conv2DPad } from './conv2d';
import { maxPool } from './maxPool';

beforeAll(async () => {
  await initNodeBackend('cpu');
  await initNodeBackend('wasm');
});

/** d/dx Σ pool(x) · r on the current backend. */
async function poolGrad(
  pool: (x: Tensor4D) => Tensor,
  x: Float32Array,
  shape: [number, number, number, number],
  r?: Float32Array,
): Promise<Float32Array> {
  const g = tf.tidy(() => {
    const xt = tf.tensor4d(x, shape);
    const outShape = tf.tidy(() => pool(xt)).shape;
    const rt = r ? tf.tensor(r, outShape) : tf.onesLike(pool(xt));
    return tf.grad((a: Tensor) => tf.sum(tf.mul(pool(a as Tensor4D), rt)))(xt);
  });
  const out = (await g.data()) as Float32Array;
  g.dispose();
  return out;
}

describe('maxPool gradient: hand-computed, on cpu and wasm', () => {
  const windows: [string, number[], number[]][] = [
    ['all negative [-3,-1,-2,-4] → the −1', [-3, -1, -2, -4], [0, 1, 0, 0]],
    ['maximum 0 [-3,0,-2,-4] → the 0', [-3, 0, -2, -4], [0, 1, 0, 0]],
    ['positive [3,1,2,4] → the 4', [3, 1, 2, 4], [0, 0, 0, 1]],
    ['ties [2,5,5,1] → the first 5', [2, 5, 5, 1], [0, 1, 0, 0]],
    ['all equal [0,0,0,0] → the first', [0, 0, 0, 0], [1, 0, 0, 0]],
  ];
  for (const backend of ['cpu', 'wasm']) {
    for (const [name, x, want] of windows) {
      it(`${backend}: x=[1,2,2,1] window 2 s=2 valid, ${name}`, async () => {
        await tf.setBackend(backend);
        const got = await poolGrad((a) => maxPool(a, 2, 2, 'valid'), Float32Array.from(x), [1, 2, 2, 1]);
        expect(Array.from(got)).toEqual(want);
      });
    }
  }
});

describe('maxPool gradient on wasm equals tfjs’ own on cpu within 1e-4', () => {
  const cases: { x: [number, number, number, number]; k: number | [number, number]; s: number | [number, number]; pad: Conv2DPad }[] = [
    { x: [2, 16, 16, 8], k: 3, s: 2, pad: 'same' },
    { x: [2, 15, 15, 8], k: 3, s: 2, pad: 'same' },
    { x: [2, 16, 16, 8], k: 2, s: 2, pad: 'valid' },
    { x: [2, 9, 9, 3], k: 3, s: 1, pad: 'same' },
    { x: [1, 9, 9, 2], k: 2, s: 3, pad: 'valid' },
    { x: [2, 8, 8, 3], k: 3, s: 2, pad: 1 },
    { x: [1, 9, 8, 2], k: [3, 2], s: [2, 1], pad: 'same' },
  ];
  for (const c of cases) {
    const name = `x=[${c.x.join(',')}] k=${JSON.stringify(c.k)} s=${JSON.stringify(c.s)} ${JSON.stringify(c.pad)} (signed N(0,1) input)`;
    it(name, async () => {
      const x = randomNormal(c.x.reduce((a, b) => a * b, 1), 21);
      const r = randomNormal(1 << 16, 22);
      const shapeOut = tf.tidy(() => tf.maxPool(tf.zeros(c.x) as Tensor4D, c.k as [number, number], c.s as [number, number], c.pad).shape);
      const rr = r.subarray(0, shapeOut.reduce((a, b) => a * b, 1));
      await tf.setBackend('cpu');
      const ref = await poolGrad((a) => tf.maxPool(a, c.k as [number, number], c.s as [number, number], c.pad), x, c.x, rr);
      await tf.setBackend('wasm');
      const got = await poolGrad((a) => maxPool(a, c.k, c.s, c.pad), x, c.x, rr);
      expect(relativeError(got, ref)).toBeLessThan(1e-4);
      expect(relativeError(await poolGrad((a) => maxPool(a, c.k, c.s, c.pad), x, c.x, rr), ref)).toBeLessThan(1e-4);
    });
  }

  it('the forward pass is tf.maxPool: x=[2,16,16,8] k=3 s=2 same gives the same values', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(randomNormal(2 * 16 * 16 * 8, 3), [2, 16, 16, 8]);
    const a = await maxPool(x, 3, 2, 'same').data();
    const b = await tf.maxPool(x, 3, 2, 'same').data();
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});

describe('maxPool validation', () => {
  const cases: { name: string; run: () => unknown; message: string }[] = [
    {
      name: 'x=[4,4,1] (rank 3)',
      run: () => maxPool(tf.zeros([4, 4, 1]) as unknown as Tensor4D, 2, 2, 'valid'),
      message: 'Error in maxPool: x must be rank 4, but got rank 3.',
    },
    {
      name: 'filterSize 0',
      run: () => maxPool(tf.zeros([1, 4, 4, 1]), 0, 2, 'valid'),
      message: 'Error in maxPool: filterSize must be positive integers, but got [0, 0].',
    },
    {
      name: 'strides [2, 0]',
      run: () => maxPool(tf.zeros([1, 4, 4, 1]), 2, [2, 0], 'valid'),
      message: 'Error in maxPool: strides must be positive integers, but got [2, 0].',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: "${c.message}"`, () => {
      expect(c.run).toThrow(OpArgumentError);
      expect(c.run).toThrow(c.message);
    });
  }
});
