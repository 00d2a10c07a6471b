import '@tensorflow/tfjs-backend-cpu';
// tfjs-core registers no gradients by itself; the application (here: the test) does.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor1D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DtypeError, OptionError, ShapeError } from './errors';
import { crossEntropyLoss, diceLoss, diceScore } from './segmentation';
import type { DiceLossOptions, SegmentationTarget } from './segmentation';
import { GRAD_STEP, gradCheck, seededNormal } from './testing';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const { log } = Math;

/** Logits [N, 2, 2, 2] whose softmax is p = (1/4, 3/4) at every pixel. */
const quarter = (n = 1): Tensor4D => tf.tidy(() => tf.tile(tf.tensor4d([0, log(3)], [1, 1, 1, 2]), [n, 2, 2, 1]));
/** Labels of one 2×2 image: one background pixel (top left), three foreground. */
const LABELS = [
  [0, 1],
  [1, 1],
];
const labels = (rows: number[][][]): Tensor3D => tf.tensor3d(rows, undefined, 'int32');

type Case = [string, () => [Tensor4D, SegmentationTarget, DiceLossOptions], number];

// Dice, p = (1/4, 3/4) everywhere, g from LABELS, ε = 0:
//   class 0: I = 1/4, P = 4·1/4 = 1, G = 1 → 2·(1/4)/2 = 1/4;  class 1: I = 3·3/4, P = 3, G = 3 → 4.5/6 = 3/4.
describe('diceLoss: hand-computed values on 2×2 images, C = 2', () => {
  it.each<Case>([
    ['[1,2,2,2] mean of 1/4 and 3/4', () => [quarter(), labels([LABELS]), { smooth: 0 }], 1 - (1 / 4 + 3 / 4) / 2],
    ['[1,2,2,2] without background', () => [quarter(), labels([LABELS]), { smooth: 0, includeBackground: false }], 1 - 3 / 4],
    // Equal logits, p = 1/2: class 0: 2·(1/2)/(2 + 1) = 1/3; class 1: 2·(3/2)/(2 + 3) = 3/5.
    ['[1,2,2,2] uniform p', () => [tf.zeros([1, 2, 2, 2]) as Tensor4D, labels([LABELS]), { smooth: 0 }], 1 - (1 / 3 + 3 / 5) / 2],
    // One-hot target = the same as labels.
    ['[1,2,2,2] one-hot target', () => [quarter(), tf.cast(tf.oneHot(labels([LABELS]), 2), 'float32') as Tensor4D, { smooth: 0 }], 0.5],
    // Weight 0 on the background pixel: class 0 has I = 0, P = 3/4, G = 0 → 0; class 1: I = 9/4,
    // P = 9/4, G = 3 → 4.5/5.25 = 6/7.
    [
      '[1,2,2,2] per-pixel weight ignores the background pixel',
      () => [quarter(), labels([LABELS]), { smooth: 0, weight: tf.tensor3d([[[0, 1], [1, 1]]]) }],
      1 - (0 + 6 / 7) / 2,
    ],
    // Label 255 (outside [0, C)) on that pixel is ignored in the same way.
    ['[1,2,2,2] label 255 is ignored', () => [quarter(), labels([[[255, 1], [1, 1]]]), { smooth: 0 }], 1 - (0 + 6 / 7) / 2],
    // Sparse annotation: image 2 is unannotated (all label 0, weight 0) and changes nothing.
    [
      '[2,2,2,2] per-image weight [1, 0]',
      () => [quarter(2), labels([LABELS, [[0, 0], [0, 0]]]), { smooth: 0, weight: tf.tensor1d([1, 0]) }],
      0.5,
    ],
    // Without the weight, image 2's four "background" pixels count: class 0: I = 1/4 + 1, P = 2, G = 5
    // → 2.5/7; class 1: I = 9/4, P = 6, G = 3 → 4.5/9 = 1/2.
    ['[2,2,2,2] the same without weights', () => [quarter(2), labels([LABELS, [[0, 0], [0, 0]]]), { smooth: 0 }], 1 - (2.5 / 7 + 0.5) / 2],
    // ε = 1e-5 (default) with nothing weighted: every class is (0 + ε)/(0 + ε) = 1 → L = 0.
    ['[1,2,2,2] all weights 0', () => [quarter(), labels([LABELS]), { weight: tf.tensor1d([0]) }], 0],
  ])('%s', (_n, make, expected) => {
    const got = tf.tidy(() => {
      const [logits, target, o] = make();
      return diceLoss(logits, target, o).dataSync()[0]!;
    });
    expect(got).toBeCloseTo(expected, 5);
  });
});

// Cross-entropy, p = (1/4, 3/4): −log p = log 4 on the background pixel and log(4/3) on the others.
describe('crossEntropyLoss: hand-computed values on 2×2 images, C = 2', () => {
  it.each<Case>([
    ['[1,2,2,2] labels', () => [quarter(), labels([LABELS]), {}], (log(4) + 3 * log(4 / 3)) / 4],
    ['[1,2,2,2] one-hot', () => [quarter(), tf.cast(tf.oneHot(labels([LABELS]), 2), 'float32') as Tensor4D, {}], (log(4) + 3 * log(4 / 3)) / 4],
    ['[1,2,2,2] per-pixel weight 0 on background', () => [quarter(), labels([LABELS]), { weight: tf.tensor3d([[[0, 1], [1, 1]]]) }], log(4 / 3)],
    // Weights are importance weights: 3 on the background pixel → (3·log 4 + 3·log(4/3)) / 6.
    ['[1,2,2,2] per-pixel weight 3 on background', () => [quarter(), labels([LABELS]), { weight: tf.tensor3d([[[3, 1], [1, 1]]]) }], (log(4) + log(4 / 3)) / 2],
    ['[1,2,2,2] label -1 is ignored', () => [quarter(), labels([[[-1, 1], [1, 1]]]), {}], log(4 / 3)],
    ['[2,2,2,2] per-image weight [0, 1]', () => [quarter(2), labels([[[0, 0], [0, 0]], LABELS]), { weight: tf.tensor1d([0, 1]) }], (log(4) + 3 * log(4 / 3)) / 4],
    // Soft target (0.5, 0.5): −(log(1/4) + log(3/4))/2 per pixel.
    ['[1,2,2,2] soft target', () => [quarter(), tf.fill([1, 2, 2, 2], 0.5) as Tensor4D, {}], -(log(1 / 4) + log(3 / 4)) / 2],
    ['[1,2,2,2] nothing weighted → 0', () => [quarter(), labels([LABELS]), { weight: tf.zeros([1]) as Tensor1D }], 0],
  ])('%s', (_n, make, expected) => {
    const got = tf.tidy(() => {
      const [logits, target, o] = make();
      return crossEntropyLoss(logits, target, o).dataSync()[0]!;
    });
    expect(got).toBeCloseTo(expected, 5);
  });
});

describe('segmentation losses: gradients, logits=[2,3,3,3]', () => {
  // Each pixel carries 1/Σw of the loss, so gradients are ~1e-2; the largest |numeric − analytic|
  // measured at h = 1e-2 is 8e-6 (scripts/gradprobe.run.ts). atol = 1e-4 is 12× that; a 1% error
  // in the largest component (1.5e-4 for Dice, 5.6e-4 for cross-entropy) fails.
  const tol = { h: GRAD_STEP, rtol: 1e-3, atol: 1e-4 };
  const logits = tf.tensor4d(seededNormal(54, 9), [2, 3, 3, 3]);
  // Labels 0..2 with one 255 (ignored); image 2 carries half weight; one pixel of image 1 weight 0.
  const lab = [0, 1, 2, 2, 1, 0, 255, 1, 1, 2, 2, 2, 0, 0, 1, 1, 0, 2];
  const target = tf.tensor3d(lab, [2, 3, 3], 'int32');
  const weight = tf.tensor3d([1, 1, 1, 1, 0, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [2, 3, 3]);
  it.each<[string, (x: tf.Tensor) => tf.Scalar]>([
    ['dice', (x) => diceLoss(x as Tensor4D, target)],
    ['dice, weighted, no background', (x) => diceLoss(x as Tensor4D, target, { weight, includeBackground: false })],
    ['cross-entropy', (x) => crossEntropyLoss(x as Tensor4D, target)],
    ['cross-entropy, weighted', (x) => crossEntropyLoss(x as Tensor4D, target, { weight })],
  ])('%s: tf.grad matches central differences', (_n, f) => {
    const r = gradCheck(f, logits, tol);
    expect(r.maxAbs).toBeGreaterThan(1e-2);
    expect(r.worst).toBeLessThanOrEqual(1);
  });
  it('weight-0 pixels get exactly zero gradient', () => {
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => crossEntropyLoss(x as Tensor4D, target, { weight }))(logits).dataSync());
    // Pixel (n=0, y=1, x=1) has weight 0 and pixel (0, 2, 0) label 255: 3 logits each.
    expect([...g.slice(4 * 3, 5 * 3), ...g.slice(6 * 3, 7 * 3)].map(Math.abs)).toEqual([0, 0, 0, 0, 0, 0]);
  });
  it('leaks no tensors (forward and tf.grad)', () => {
    const before = tf.memory().numTensors;
    diceLoss(logits, target, { weight }).dispose();
    crossEntropyLoss(logits, target, { weight }).dispose();
    tf.grad((x: tf.Tensor) => diceLoss(x as Tensor4D, target, { weight }))(logits).dispose();
    tf.grad((x: tf.Tensor) => crossEntropyLoss(x as Tensor4D, target))(logits).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('segmentation losses: validation', () => {
  const logits = tf.zeros([2, 4, 4, 3]) as Tensor4D;
  it.each<[string, () => unknown, typeof ShapeError | typeof DtypeError | typeof OptionError, string]>([
    [
      'labels [2,4,5]',
      () => diceLoss(logits, tf.zeros([2, 4, 5], 'int32') as Tensor3D),
      ShapeError,
      'Error in diceLoss: logits [2,4,4,3] and target [2,4,5] differ: expected labels [2,4,4] or one-hot [2,4,4,3]',
    ],
    [
      'one-hot [2,4,4,2]',
      () => crossEntropyLoss(logits, tf.zeros([2, 4, 4, 2]) as Tensor4D),
      ShapeError,
      'Error in crossEntropyLoss: logits [2,4,4,3] and target [2,4,4,2] differ: expected labels [2,4,4] or one-hot [2,4,4,3]',
    ],
    ['float labels', () => diceLoss(logits, tf.zeros([2, 4, 4]) as Tensor3D), DtypeError, 'Error in diceLoss: target labels must be int32, got float32'],
    [
      'logits rank 3',
      () => diceLoss(tf.zeros([4, 4, 3]) as unknown as Tensor4D, tf.zeros([4, 4], 'int32') as unknown as Tensor3D),
      ShapeError,
      'Error in diceLoss: logits must be rank 4 [N, H, W, C], got shape [4,4,3]',
    ],
    [
      'weight [3]',
      () => crossEntropyLoss(logits, tf.zeros([2, 4, 4], 'int32') as Tensor3D, { weight: tf.ones([3]) as Tensor1D }),
      ShapeError,
      'Error in crossEntropyLoss: logits [2,4,4,3] and weight [3] differ: expected per-pixel [2,4,4] or per-image [2]',
    ],
    [
      'includeBackground false with C = 1',
      () => diceLoss(tf.zeros([1, 2, 2, 1]) as Tensor4D, tf.zeros([1, 2, 2], 'int32') as Tensor3D, { includeBackground: false }),
      ShapeError,
      'Error in diceLoss: includeBackground: false needs C ≥ 2 classes, got logits [1,2,2,1]',
    ],
    [
      'smooth −1',
      () => diceLoss(logits, tf.zeros([2, 4, 4], 'int32') as Tensor3D, { smooth: -1 }),
      OptionError,
      'Error in diceLoss: smooth must be a finite number ≥ 0, got -1',
    ],
  ])('%s', (_n, call, type, message) => {
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });
});

describe('diceScore', () => {
  it.each<[string, number[], number[], number, number[] | undefined, number]>([
    // P = {0, 1}, T = {0, 2}: 2·1 / (2 + 2).
    ['half overlap', [1, 1, 0, 0], [1, 0, 1, 0], 1, undefined, 0.5],
    ['perfect', [2, 0, 2], [2, 0, 2], 2, undefined, 1],
    ['disjoint', [1, 0], [0, 1], 1, undefined, 0],
    ['label absent from both → 1', [0, 0], [0, 0], 3, undefined, 1],
    // Only the first two pixels count: P = {0}, T = {0} → 1.
    ['masked', [1, 1, 0, 0], [1, 0, 1, 0], 1, [1, 0, 0, 1], 1],
  ])('%s', (_n, p, t, label, mask, expected) => {
    expect(diceScore(Int32Array.from(p), Uint8Array.from(t), label, mask)).toBe(expected);
  });
  it('refuses different lengths', () => {
    expect(() => diceScore(new Int32Array(4), new Int32Array(3), 1)).toThrow('Error in diceScore: lengths differ: pred [4], target [3]');
  });
});
