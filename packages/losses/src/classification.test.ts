import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { classificationLoss } from './classification';
import { OptionError, ShapeError } from './errors';
import { GRAD_STEP, gradCheck, seededNormal } from './testing';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const value = (logits: number[][], labels: number[], labelSmoothing?: number) =>
  tf.tidy(() => classificationLoss(tf.tensor2d(logits), labels, labelSmoothing === undefined ? {} : { labelSmoothing }).dataSync()[0]!);

describe('classificationLoss: hand-computed values', () => {
  const ln3 = Math.log(3);
  it.each<[string, number[][], number[], number | undefined, number]>([
    ['uniform logits give log C whatever the labels', [[0, 0, 0], [5, 5, 5]], [0, 2], undefined, Math.log(3)],
    // softmax([0, ln 3]) = [1/4, 3/4]
    ['softmax [1/4, 3/4], label 1: −log 3/4', [[0, ln3]], [1], undefined, Math.log(4 / 3)],
    ['the mean over rows: (log 4/3 + log 4) / 2', [[0, ln3], [0, ln3]], [1, 0], undefined, (Math.log(4 / 3) + Math.log(4)) / 2],
    // ε = 0.1, C = 2: q = [0.05, 0.95]
    ['label smoothing 0.1: −(0.05 log 1/4 + 0.95 log 3/4)', [[0, ln3]], [1], 0.1, -(0.05 * Math.log(0.25) + 0.95 * Math.log(0.75))],
  ])('%s', (_n, logits, labels, eps, expected) => {
    expect(value(logits, labels, eps)).toBeCloseTo(expected, 6);
  });

  it('its gradient is (softmax − q) / N, by hand', () => {
    const g = tf.grad((x: tf.Tensor) => classificationLoss(x as Tensor2D, [1, 0], { labelSmoothing: 0.1 }))(tf.tensor2d([[0, Math.log(3)], [0, 0]]));
    // row 0: softmax [1/4, 3/4], q [0.05, 0.95]; row 1: softmax [1/2, 1/2], q [0.95, 0.05]; N = 2
    const expected = [(0.25 - 0.05) / 2, (0.75 - 0.95) / 2, (0.5 - 0.95) / 2, (0.5 - 0.05) / 2];
    [...g.dataSync()].forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    g.dispose();
  });
});

describe('classificationLoss: gradients and validation', () => {
  const tol = { h: GRAD_STEP, rtol: 1e-3, atol: 1e-4 };
  const logits = tf.tensor2d(seededNormal(20, 9), [4, 5]);
  it.each([0, 0.1])('∂L/∂logits [4,5], smoothing %s: tf.grad matches central differences', (labelSmoothing) => {
    const r = gradCheck((x) => classificationLoss(x as Tensor2D, [0, 3, 4, 1], { labelSmoothing }), logits, tol);
    expect(r.maxAbs).toBeGreaterThan(0.05);
    expect(r.worst).toBeLessThanOrEqual(1);
  });
  it('refuses labels out of range, a wrong count, and smoothing ≥ 1, saying which', () => {
    expect(() => classificationLoss(logits, [0, 3, 5, 1])).toThrow('Error in classificationLoss: labels[2] must be a class index in [0, 5), got 5');
    expect(() => classificationLoss(logits, [0, 1])).toThrow(ShapeError);
    expect(() => classificationLoss(logits, [0, 1, 2, 3], { labelSmoothing: 1 })).toThrow(OptionError);
  });
  it('leaks no tensors', () => {
    const before = tf.memory().numTensors;
    classificationLoss(logits, [0, 1, 2, 3]).dispose();
    tf.grad((x: tf.Tensor) => classificationLoss(x as Tensor2D, [0, 1, 2, 3]))(logits).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
