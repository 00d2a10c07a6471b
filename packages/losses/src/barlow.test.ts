import '@tensorflow/tfjs-backend-cpu';
// tfjs-core registers no gradients by itself; the application (here: the test) does.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { barlowTwinsLoss } from './barlow';
import type { BarlowTwinsOptions } from './barlow';
import { OptionError, ShapeError } from './errors';
import { GRAD_STEP, gradCheck, seededNormal } from './testing';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const value = (z1: number[][], z2: number[][], o?: BarlowTwinsOptions): number =>
  tf.tidy(() => barlowTwinsLoss(tf.tensor2d(z1), tf.tensor2d(z2), o).dataSync()[0]!);

/** N = 4, D = 2: each column has mean 0 and (biased) variance 1, and the columns are orthogonal. */
const DECORRELATED = [
  [1, 1],
  [1, -1],
  [-1, 1],
  [-1, -1],
];
const LAMBDA = 0.0051;

describe('barlowTwinsLoss: hand-computed values (ε = 0)', () => {
  it.each<[string, number[][], number[][], number]>([
    // Identical, already standardised and decorrelated: C = I → 0.
    ['N=4 D=2 identical decorrelated views', DECORRELATED, DECORRELATED, 0],
    // Identical but the two dimensions are copies: C = [[1,1],[1,1]] → 0 + λ·(1² + 1²).
    ['N=2 D=2 redundant dimensions', [[1, 1], [-1, -1]], [[1, 1], [-1, -1]], 2 * LAMBDA],
    // z2 = −z1: C = −I → (1 − (−1))² · 2 = 8.
    ['N=4 D=2 negated view', DECORRELATED, DECORRELATED.map((r) => r.map((v) => -v)), 8],
    // z2 swaps the columns: C = [[0,1],[1,0]] → (1 − 0)² · 2 + λ · 2.
    ['N=4 D=2 swapped dimensions', DECORRELATED, DECORRELATED.map(([a, b]) => [b!, a!]), 2 + 2 * LAMBDA],
    // Standardisation removes per-dimension shift and scale: 3·z + 5 and 0.5·z − 1 give C = I again.
    ['N=4 D=2 affine per dimension', DECORRELATED.map(([a, b]) => [3 * a! + 5, 0.5 * b! - 1]), DECORRELATED, 0],
  ])('%s', (_n, z1, z2, expected) => {
    expect(value(z1, z2, { eps: 0 })).toBeCloseTo(expected, 5);
  });

  it('default ε = 1e-5 shrinks C_ii to 1/(1 + ε): identical decorrelated views give 2·(ε/(1+ε))² ≈ 0', () => {
    expect(value(DECORRELATED, DECORRELATED)).toBeCloseTo(0, 8);
  });
  it('λ weights only the off-diagonal term', () => {
    const z = [[1, 1], [-1, -1]];
    expect(value(z, z, { eps: 0, lambda: 1 })).toBeCloseTo(2, 5);
    expect(value(z, z, { eps: 0, lambda: 0 })).toBeCloseTo(0, 5);
  });
});

describe('barlowTwinsLoss: gradients', () => {
  // L ≈ 4 (a sum over D = 3 dimensions), gradients up to ~0.8; the largest |numeric − analytic|
  // measured at h = 1e-2 is 2.3e-5 (scripts/gradprobe.run.ts). atol = 3e-4 is 13× that; a 1%
  // error in the largest component (8e-3) fails.
  const tol = { h: GRAD_STEP, rtol: 1e-3, atol: 3e-4 };
  const z1 = tf.tensor2d(seededNormal(18, 5), [6, 3]);
  const z2 = tf.tensor2d(seededNormal(18, 6), [6, 3]);
  it.each([
    ['z1', 0.0051],
    ['z1', 0.5],
    ['z2', 0.5],
  ] as const)('∂L/∂%s, z=[6,3], λ=%s: tf.grad matches central differences', (which, lambda) => {
    const f = (x: tf.Tensor) =>
      which === 'z1' ? barlowTwinsLoss(x as Tensor2D, z2, { lambda }) : barlowTwinsLoss(z1, x as Tensor2D, { lambda });
    const r = gradCheck(f, which === 'z1' ? z1 : z2, tol);
    expect(r.maxAbs).toBeGreaterThan(0.1);
    expect(r.worst).toBeLessThanOrEqual(1);
  });
  it('leaks no tensors (forward and tf.grad)', () => {
    const before = tf.memory().numTensors;
    barlowTwinsLoss(z1, z2).dispose();
    tf.grads((a: tf.Tensor, b: tf.Tensor) => barlowTwinsLoss(a as Tensor2D, b as Tensor2D))([z1, z2]).forEach((g) => g.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('barlowTwinsLoss: validation', () => {
  it.each<[string, number[], number[], string]>([
    ['z1 [4,8] and z2 [4,6]', [4, 8], [4, 6], 'Error in barlowTwinsLoss: z1 [4,8] and z2 [4,6] differ'],
    ['rank 1 z2', [4, 8], [32], 'Error in barlowTwinsLoss: z2 must be rank 2 [N, D], got shape [32]'],
    ['N = 1 (no batch statistics)', [1, 8], [1, 8], 'Error in barlowTwinsLoss: need N ≥ 2 and D ≥ 1, got z1 [1,8]'],
  ])('%s', (_n, s1, s2, message) => {
    const a = tf.zeros<tf.Rank>(s1) as Tensor2D;
    const b = tf.zeros<tf.Rank>(s2) as Tensor2D;
    expect(() => barlowTwinsLoss(a, b)).toThrow(ShapeError);
    expect(() => barlowTwinsLoss(a, b)).toThrow(message);
    tf.dispose([a, b]);
  });
  it.each<[BarlowTwinsOptions, string]>([
    [{ lambda: -1 }, 'Error in barlowTwinsLoss: lambda must be a finite number ≥ 0, got -1'],
    [{ eps: NaN }, 'Error in barlowTwinsLoss: eps must be a finite number ≥ 0, got NaN'],
  ])('%o is refused', (o, message) => {
    const a = tf.ones([2, 2]) as Tensor2D;
    expect(() => barlowTwinsLoss(a, a, o)).toThrow(OptionError);
    expect(() => barlowTwinsLoss(a, a, o)).toThrow(message);
    a.dispose();
  });
});
