import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { OptionError, ShapeError } from './errors';
import { GRAD_STEP, gradCheck, seededNormal } from './testing';
import { tripletLoss } from './triplet';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const value = (a: number[][], p: number[][], n: number[][], margin?: number) =>
  tf.tidy(() => tripletLoss(tf.tensor2d(a), tf.tensor2d(p), tf.tensor2d(n), margin === undefined ? {} : { margin }).dataSync()[0]!);

describe('tripletLoss: hand-computed values (squared distances)', () => {
  it.each<[string, number[][], number[][], number[][], number | undefined, number]>([
    ['negative farther by more than the margin: d(a,p) 1, d(a,n) 4 → 0', [[0, 0]], [[1, 0]], [[2, 0]], undefined, 0],
    ['negative closer: d(a,p) 2, d(a,n) 1 → 2 − 1 + 1 = 2', [[0, 0]], [[1, 1]], [[1, 0]], undefined, 2],
    ['the mean over triplets: (0 + 2) / 2', [[0, 0], [0, 0]], [[1, 0], [1, 1]], [[2, 0], [1, 0]], undefined, 1],
    ['margin 0.5: (0 + 1.5) / 2', [[0, 0], [0, 0]], [[1, 0], [1, 1]], [[2, 0], [1, 0]], 0.5, 0.75],
  ])('%s', (_n, a, p, n, margin, expected) => {
    expect(value(a, p, n, margin)).toBeCloseTo(expected, 6);
  });
});

describe('tripletLoss: gradients and validation', () => {
  const [a, p, n] = [1, 2, 3].map((s) => tf.tensor2d(seededNormal(12, s), [4, 3])) as [Tensor2D, Tensor2D, Tensor2D];
  // margin 10: every triplet is active, so no kink of the hinge lies within h of the inputs
  const tol = { h: GRAD_STEP, rtol: 1e-3, atol: 1e-3 };
  it.each(['anchor', 'positive', 'negative'] as const)('∂L/∂%s [4,3]: tf.grad matches central differences', (which) => {
    const f = (x: tf.Tensor) => tripletLoss(which === 'anchor' ? (x as Tensor2D) : a, which === 'positive' ? (x as Tensor2D) : p, which === 'negative' ? (x as Tensor2D) : n, { margin: 10 });
    const r = gradCheck(f, which === 'anchor' ? a : which === 'positive' ? p : n, tol);
    expect(r.maxAbs).toBeGreaterThan(0.1);
    expect(r.worst).toBeLessThanOrEqual(1);
  });
  it('a satisfied triplet gives no gradient', () => {
    const g = tf.grad((x: tf.Tensor) => tripletLoss(x as Tensor2D, tf.tensor2d([[1, 0]]), tf.tensor2d([[5, 5]])))(tf.tensor2d([[0, 0]]));
    expect([...g.dataSync()]).toEqual([0, 0]);
    g.dispose();
  });
  it('refuses mismatched shapes and a negative margin, naming the arguments', () => {
    const small = tf.zeros([4, 2]) as Tensor2D;
    expect(() => tripletLoss(a, p, small)).toThrow('Error in tripletLoss: anchor [4,3] and negative [4,2] differ');
    expect(() => tripletLoss(a, p, small)).toThrow(ShapeError);
    expect(() => tripletLoss(a, p, n, { margin: -1 })).toThrow(OptionError);
    small.dispose();
  });
});
