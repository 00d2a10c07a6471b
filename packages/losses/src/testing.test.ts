import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import type { GradSaveFunc, Scalar, Tensor } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GRAD_STEP, gradCheck, seededNormal } from './testing';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('gradCheck', () => {
  // f(x) = Σ softplus(x)·x / n, with a custom gradient that is the true one times `factor`.
  const skewed = (factor: number) =>
    tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
      const [x, save] = args as [Tensor, GradSaveFunc];
      save([x]);
      return {
        value: tf.div(tf.sum(tf.mul(tf.softplus(x), x)), x.size) as Scalar,
        gradFunc: (dy: Tensor, [s]: Tensor[]) =>
          tf.mul(dy, tf.mul(factor / s!.size, tf.add(tf.softplus(s!), tf.mul(s!, tf.sigmoid(s!))))),
      };
    });
  const x = tf.tensor1d(seededNormal(8, 1));
  const tol = { h: GRAD_STEP, rtol: 1e-3, atol: 1e-4 };
  it('passes the true gradient, x=[8]', () => {
    const r = gradCheck((v) => skewed(1)(v) as Scalar, x, tol);
    expect(r.worst).toBeLessThanOrEqual(1);
  });
  it('fails a gradient that is 1% off, x=[8]', () => {
    const r = gradCheck((v) => skewed(1.01)(v) as Scalar, x, tol);
    expect(r.worst).toBeGreaterThan(1);
  });
});

describe('seededNormal', () => {
  it('is deterministic and roughly N(0, 1)', () => {
    const a = seededNormal(4000, 42);
    expect(seededNormal(4000, 42)).toEqual(a);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.abs(variance - 1)).toBeLessThan(0.1);
  });
});
