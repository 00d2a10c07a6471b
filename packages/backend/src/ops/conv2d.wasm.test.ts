import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../node';
import type { CaseGrads } from '../testing/conv2dCases';
import { CONV_CASES, caseData, caseName, ourGrads, randomNormal, relativeError, stockGrads } from '../testing/conv2dCases';
import { conv2d } from './conv2d';

beforeAll(async () => {
  await initNodeBackend('cpu');
  await initNodeBackend('wasm');
});

describe('conv2d on wasm: gradients equal tfjs’ own on cpu within 1e-4 (measured ≤ 4e-7)', () => {
  for (const c of CONV_CASES) {
    it(caseName(c), async () => {
      const d = caseData(c);
      await tf.setBackend('cpu');
      const ref: CaseGrads = await stockGrads(c, d);
      await tf.setBackend('wasm');
      const ours = await ourGrads(c, d);
      expect(relativeError(ours.y, ref.y)).toBeLessThan(1e-4);
      expect(relativeError(ours.dx, ref.dx)).toBeLessThan(1e-4);
      expect(relativeError(ours.dw, ref.dw)).toBeLessThan(1e-4);
    });
  }
});

describe('conv2d on wasm needs no missing kernel', () => {
  it('x=[2,8,8,3] f=[3,3,3,4] s=2 same: tf.conv2d’s stock gradient fails (no Conv2DBackpropFilter), ours runs', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(randomNormal(2 * 8 * 8 * 3, 1), [2, 8, 8, 3]);
    const w = tf.tensor4d(randomNormal(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]);
    const loss = (op: typeof conv2d) => (a: Tensor, b: Tensor) => tf.sum(op(a as Tensor4D, b as Tensor4D, 2, 'same'));
    expect(() => tf.tidy(() => tf.grads(loss((a, b, s, p) => tf.conv2d(a, b, s as number, p)))([x, w]))).toThrow(
      "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'",
    );
    const [dx, dw] = tf.grads(loss(conv2d))([x, w]);
    expect(dx!.shape).toEqual([2, 8, 8, 3]);
    expect(dw!.shape).toEqual([3, 3, 3, 4]);
    tf.dispose([x, w, dx!, dw!]);
  });
});
