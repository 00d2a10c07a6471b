import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from './errors';
import { infoNceLoss } from './infonce';
import { GRAD_STEP, gradCheck, seededNormal } from './testing';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const value = (p: number[][], z: number[][]) => tf.tidy(() => infoNceLoss(tf.tensor2d(p), tf.tensor2d(z)).dataSync()[0]!);

describe('infoNceLoss: hand-computed values', () => {
  it.each<[string, number[][], number[][], number]>([
    // scores = I: each row −1 + log(e + 1)
    ['orthonormal, each prediction on its code: log(1 + e⁻¹)', [[1, 0], [0, 1]], [[1, 0], [0, 1]], Math.log(1 + Math.exp(-1))],
    ['zero predictions: log M', [[0, 0], [0, 0], [0, 0]], [[1, 2], [3, 4], [5, 6]], Math.log(3)],
    // row 0 scores [0, 2] with positive 0: −0 + log(1 + e²); row 1 scores [0, 0]: log 2
    ['a prediction that points at the wrong code costs more', [[0, 2], [0, 0]], [[1, 0], [0, 1]], (Math.log(1 + Math.exp(2)) + Math.log(2)) / 2],
  ])('%s', (_n, p, z, expected) => {
    expect(value(p, z)).toBeCloseTo(expected, 6);
  });
});

describe('infoNceLoss: gradients and validation', () => {
  const p = tf.tensor2d(seededNormal(15, 5), [5, 3]);
  const z = tf.tensor2d(seededNormal(15, 6), [5, 3]);
  const tol = { h: GRAD_STEP, rtol: 1e-3, atol: 1e-4 };
  it.each(['predictions', 'codes'] as const)('∂L/∂%s [5,3]: tf.grad matches central differences', (which) => {
    const r = gradCheck((x) => (which === 'predictions' ? infoNceLoss(x as Tensor2D, z) : infoNceLoss(p, x as Tensor2D)), which === 'predictions' ? p : z, tol);
    expect(r.maxAbs).toBeGreaterThan(0.05);
    expect(r.worst).toBeLessThanOrEqual(1);
  });
  it('needs negatives and matching shapes', () => {
    expect(() => infoNceLoss(tf.ones([1, 3]) as Tensor2D, tf.ones([1, 3]) as Tensor2D)).toThrow('Error in infoNceLoss: need M ≥ 2 (negatives)');
    expect(() => infoNceLoss(p, tf.ones([5, 2]) as Tensor2D)).toThrow(ShapeError);
  });
});
