import '@tensorflow/tfjs-backend-cpu';
// tfjs-core registers no gradients by itself; the application (here: the test) does.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { OptionError, ShapeError } from './errors';
import { ntXentLoss } from './ntxent';
import type { NtXentOptions } from './ntxent';
import { GRAD_STEP, gradCheck, seededNormal } from './testing';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const value = (z1: number[][], z2: number[][], o?: NtXentOptions): number =>
  tf.tidy(() => ntXentLoss(tf.tensor2d(z1), tf.tensor2d(z2), o).dataSync()[0]!);

describe('ntXentLoss: hand-computed values', () => {
  it.each<[string, number[][], number[][], NtXentOptions | undefined, number]>([
    // N = 1: the positive is the only other candidate, so ℓ = −s + log e^s = 0 whatever the vectors.
    ['N=1 D=2 orthogonal views', [[1, 0]], [[0, 1]], undefined, 0],
    // N = 2, τ = 1, u = [e1, e2, e2, e1]: each anchor has its positive at cosine 0 and, among its two
    // negatives, one at cosine 1 and one at 0: ℓ = −0 + log(e⁰ + e⁰ + e¹) = log(2 + e) for all 4.
    ['N=2 D=2 τ=1 positives orthogonal, one negative aligned', [[1, 0], [0, 1]], [[0, 1], [1, 0]], { temperature: 1 }, Math.log(2 + Math.E)],
    // N = 2, τ = 0.1, identical views, orthogonal examples: ℓ = −10 + log(e¹⁰ + 2e⁰) = log(1 + 2e⁻¹⁰).
    ['N=2 D=2 τ=0.1 identical views', [[1, 0], [0, 1]], [[1, 0], [0, 1]], undefined, Math.log(1 + 2 * Math.exp(-10))],
    // Only directions count: the same batch with rows scaled by 3, 0.5, 7 and 2.
    ['N=2 D=2 rows rescaled', [[3, 0], [0, 0.5]], [[7, 0], [0, 2]], undefined, Math.log(1 + 2 * Math.exp(-10))],
    // All 2N rows point the same way: every similarity is 1/τ, ℓ = log(2N − 1) = log 5 for N = 3.
    ['N=3 D=2 all rows parallel', [[1, 1], [2, 2], [3, 3]], [[1, 1], [1, 1], [5, 5]], undefined, Math.log(5)],
  ])('%s', (_n, z1, z2, o, expected) => {
    expect(value(z1, z2, o)).toBeCloseTo(expected, 6);
  });

  it('is symmetric in the two views', () => {
    const a = Array.from({ length: 4 }, (_, i) => Array.from(seededNormal(3, 10 + i)));
    const b = Array.from({ length: 4 }, (_, i) => Array.from(seededNormal(3, 20 + i)));
    expect(value(b, a)).toBeCloseTo(value(a, b), 5);
  });

  it('a zero row gives a finite loss and gradient (rows are divided by max(‖z‖, 1e-6))', () => {
    const z1 = tf.tensor2d([[0, 0], [1, 0]]);
    const z2 = tf.tensor2d([[1, 1], [0, 1]]);
    const g = tf.grad((x: tf.Tensor) => ntXentLoss(x as Tensor2D, z2))(z1);
    expect([...g.dataSync()].every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(ntXentLoss(z1, z2).dataSync()[0])).toBe(true);
    tf.dispose([z1, z2, g]);
  });
});

describe('ntXentLoss: gradients', () => {
  // With τ = 0.1 the gradient reaches ~2 and the curvature ~1/τ²; the largest |numeric − analytic|
  // measured at h = 1e-2 is 1e-4 (τ = 0.1) and 1e-5 (τ = 0.5) (scripts/gradprobe.run.ts).
  // atol = 1e-3 is 10× that; a 1% error in the largest component (2e-2) fails.
  const tol = { h: GRAD_STEP, rtol: 1e-3, atol: 1e-3 };
  const z1 = tf.tensor2d(seededNormal(12, 3), [4, 3]);
  const z2 = tf.tensor2d(seededNormal(12, 4), [4, 3]);
  it.each([
    ['z1', 0.1],
    ['z1', 0.5],
    ['z2', 0.1],
  ] as const)('∂L/∂%s, z=[4,3], τ=%s: tf.grad matches central differences', (which, temperature) => {
    const f = (x: tf.Tensor) => (which === 'z1' ? ntXentLoss(x as Tensor2D, z2, { temperature }) : ntXentLoss(z1, x as Tensor2D, { temperature }));
    const r = gradCheck(f, which === 'z1' ? z1 : z2, tol);
    expect(r.maxAbs).toBeGreaterThan(0.1);
    expect(r.worst).toBeLessThanOrEqual(1);
  });
  it('leaks no tensors (forward and tf.grad)', () => {
    const before = tf.memory().numTensors;
    ntXentLoss(z1, z2).dispose();
    tf.grads((a: tf.Tensor, b: tf.Tensor) => ntXentLoss(a as Tensor2D, b as Tensor2D))([z1, z2]).forEach((g) => g.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('ntXentLoss: validation', () => {
  it.each<[string, number[], number[], string]>([
    ['z1 [4,8] and z2 [4,6]', [4, 8], [4, 6], 'Error in ntXentLoss: z1 [4,8] and z2 [4,6] differ'],
    ['rank 3 z1', [4, 8, 1], [4, 8], 'Error in ntXentLoss: z1 must be rank 2 [N, D], got shape [4,8,1]'],
    ['N = 0', [0, 8], [0, 8], 'Error in ntXentLoss: need N ≥ 1 and D ≥ 1, got z1 [0,8]'],
  ])('%s', (_n, s1, s2, message) => {
    const a = tf.zeros<tf.Rank>(s1) as Tensor2D;
    const b = tf.zeros<tf.Rank>(s2) as Tensor2D;
    expect(() => ntXentLoss(a, b)).toThrow(ShapeError);
    expect(() => ntXentLoss(a, b)).toThrow(message);
    tf.dispose([a, b]);
  });
  it.each([0, -0.1, Infinity])('temperature %s is refused', (temperature) => {
    const a = tf.ones([2, 2]) as Tensor2D;
    expect(() => ntXentLoss(a, a, { temperature })).toThrow(OptionError);
    expect(() => ntXentLoss(a, a, { temperature })).toThrow(`Error in ntXentLoss: temperature must be a finite number > 0, got ${temperature}`);
    a.dispose();
  });
});
