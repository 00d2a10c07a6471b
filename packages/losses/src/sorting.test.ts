import '@tensorflow/tfjs-backend-cpu';
// tfjs-core registers no gradients by itself; the application (here: the test) does.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DtypeError, OptionError, ShapeError } from './errors';
import type { SortingLossOptions } from './sorting';
import { sortingDistanceTerm, sortingLoss, spearman } from './sorting';
import { GRAD_STEP, gradCheck, seededNormal } from './testing';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const { log, exp } = Math;
const softplus = (x: number): number => log(1 + exp(x));

/** Loss value for one [B, K] batch given as nested arrays. */
const value = (s: number[][], z: number[][], o?: SortingLossOptions): number =>
  tf.tidy(() => sortingLoss(tf.tensor2d(s), tf.tensor2d(z), o).dataSync()[0]!);

describe('sortingLoss: hand-computed values', () => {
  // ListMLE per slice, L = (1/K) Σ_i [logsumexp_{z_j ≤ z_i} s_j − s_i]; the lowest slice's term is 0.
  it.each<[string, number[][], number[][], SortingLossOptions | undefined, number]>([
    // Equal scores: every order is equally likely, P = 1/3! → L = log 6 / 3.
    ['listmle B=1 K=3 all 0, z=[0,1,2]', [[0, 0, 0]], [[0, 1, 2]], undefined, log(6) / 3],
    // s = [1,2,3] rises with z: top term lse(1,2,3) − 3 = log(1 + e⁻¹ + e⁻²), next lse(1,2) − 2 = log(1 + e⁻¹).
    ['listmle B=1 K=3 ordered', [[1, 2, 3]], [[0, 1, 2]], { kind: 'listmle' }, (log(1 + exp(-1) + exp(-2)) + log(1 + exp(-1))) / 3],
    // Reversed: lse(3,2,1) − 1 = log(e² + e + 1), lse(3,2) − 2 = log(e + 1).
    ['listmle B=1 K=3 reversed', [[3, 2, 1]], [[0, 1, 2]], undefined, (log(exp(2) + exp(1) + 1) + log(exp(1) + 1)) / 3],
    // Positions out of order: the same slices as "ordered", listed as z = [2, 0, 1].
    ['listmle B=1 K=3 unsorted positions', [[3, 1, 2]], [[2, 0, 1]], undefined, (log(1 + exp(-1) + exp(-2)) + log(1 + exp(-1))) / 3],
    // Tie z0 = z1 (Breslow): both tied slices use the risk set {0, 1}: log 2 + log 2, top slice log 3.
    ['listmle B=1 K=3 tie z=[0,0,1]', [[0, 0, 0]], [[0, 0, 1]], undefined, log(12) / 3],
    // B = 2: row 1 gives log 2; row 2 is one tie group, 2·lse(0,5) − 0 − 5 = 5 + 2 log(1 + e⁻⁵); mean over B·K = 4.
    ['listmle B=2 K=2 mean over B·K', [[0, 0], [0, 5]], [[0, 1], [0, 0]], undefined, (log(2) + 5 + 2 * log(1 + exp(-5))) / 4],
    // Two slices with z1 < z2: one pair, softplus(−(s2 − s1)) = softplus(s1 − s2).
    ['pairwise B=1 K=2, z1<z2', [[0.3, 1.1]], [[2, 5]], { kind: 'pairwise' }, softplus(0.3 - 1.1)],
    ['pairwise B=1 K=2, listed z2,z1', [[1.1, 0.3]], [[5, 2]], { kind: 'pairwise' }, softplus(0.3 - 1.1)],
    ['pairwise B=1 K=2 margin 1', [[0.3, 1.1]], [[2, 5]], { kind: 'pairwise', margin: 1 }, softplus(1 + 0.3 - 1.1)],
    // s = [0,1,3]: pairs (0,1), (0,2), (1,2) with gaps 1, 3, 2.
    ['pairwise B=1 K=3', [[0, 1, 3]], [[0, 1, 2]], { kind: 'pairwise' }, (softplus(-1) + softplus(-3) + softplus(-2)) / 3],
    // Adjacent drops the (0,2) pair.
    ['adjacent B=1 K=3', [[0, 1, 3]], [[0, 1, 2]], { kind: 'adjacent' }, (softplus(-1) + softplus(-2)) / 2],
    // Ties: (0,1) is skipped; (0,2) and (1,2) remain, each softplus(0) = log 2.
    ['pairwise tie z=[0,0,1]', [[0, 0, 0]], [[0, 0, 1]], { kind: 'pairwise' }, log(2)],
    ['adjacent tie z=[0,0,1] pairs both tied slices with the next', [[0, 0, 0]], [[0, 0, 1]], { kind: 'adjacent' }, log(2)],
    // Pair means are pooled over the batch: row 2 is all tied (no pair), row 1 has one pair.
    ['pairwise B=2 K=2 pooled over pairs', [[0, 0], [0, 5]], [[0, 1], [0, 0]], { kind: 'pairwise' }, log(2)],
    // Distance: z = [0,1,3], s = [0,1,2] → 0.140625 (see sortingDistanceTerm below); ×2.
    [
      'listmle + distance w=2 B=1 K=3',
      [[0, 1, 2]],
      [[0, 1, 3]],
      { kind: 'listmle', distance: { weight: 2 } },
      (log(1 + exp(-1) + exp(-2)) + log(1 + exp(-1))) / 3 + 2 * 0.140625,
    ],
  ])('%s', (_name, s, z, o, expected) => {
    expect(value(s, z, o)).toBeCloseTo(expected, 5);
  });
});

describe('sortingDistanceTerm', () => {
  // D = mean over rows of the variance of r = h̄·Δs/Δz over neighbour pairs, h̄ = the row's mean Δz.
  it.each<[string, number[][], number[][], number]>([
    // Δz = 1, 2 → h̄ = 1.5; Δs/Δz = 1, 0.5 → r = 1.5, 0.75, mean 1.125, variance 0.375² = 0.140625.
    ['B=1 K=3 z=[0,1,3]: variance 0.140625', [[0, 1, 2]], [[0, 1, 3]], 0.140625],
    ['the same slices listed z=[3,0,1]', [[2, 0, 1]], [[3, 0, 1]], 0.140625],
    // Equal spacing: r is the score step; steps 1, 3, 2 → mean 2, variance (1 + 1 + 0)/3.
    ['B=1 K=4 equal spacing: variance of the steps', [[0, 1, 4, 6]], [[0, 5, 10, 15]], 2 / 3],
    // Ties: the tie group {0, 1} is paired with slice 2 (Δz = 2 both, h̄ = 2): r = 2·1, 2·0.5 → variance 0.25.
    ['B=1 K=3 tie z=[0,0,2]', [[0, 1, 2]], [[0, 0, 2]], 0.25],
    ['s linear in z (uneven spacing) → 0', [[1, 2, 3.5, 4]], [[0, 2, 5, 6]], 0],
    // Row 1 as above (0.140625); row 2 pairs both tied slices with slice 2 (Δz = 1): r = 9, 2, mean
    // 5.5, variance 3.5² = 12.25; mean over rows.
    ['B=2 K=3 mean over rows', [[0, 1, 2], [0, 7, 9]], [[0, 1, 3], [0, 0, 1]], (0.140625 + 12.25) / 2],
    ['one tie group: no pair → 0', [[0, 5]], [[1, 1]], 0],
  ])('%s', (_name, s, z, expected) => {
    const d = tf.tidy(() => sortingDistanceTerm(tf.tensor2d(s), tf.tensor2d(z)).dataSync()[0]!);
    expect(d).toBeCloseTo(expected, 5);
  });
  const dist = (s: number[][], z: number[][]): number => tf.tidy(() => sortingDistanceTerm(tf.tensor2d(s), tf.tensor2d(z)).dataSync()[0]!);
  const s = [[0.2, 1, 1.7, 3]];
  const z = [[0, 1, 3, 4]];
  it('scales with the square of the score spread', () => {
    expect(dist(s.map((r) => r.map((v) => 3 * v)), z)).toBeCloseTo(9 * dist(s, z), 5);
  });
  it('does not depend on the unit or origin of the positions (mm → cm, + 4)', () => {
    // 4 digits: float32 keeps differences of 0.1 cm near 4 to ~1e-6 relative … 1e-5 after division.
    expect(dist(s, z.map((r) => r.map((v) => v / 10 + 4)))).toBeCloseTo(dist(s, z), 4);
  });
});

const VARIANTS: [string, SortingLossOptions][] = [
  ['listmle', { kind: 'listmle' }],
  ['pairwise', { kind: 'pairwise' }],
  ['pairwise margin 0.5', { kind: 'pairwise', margin: 0.5 }],
  ['adjacent', { kind: 'adjacent' }],
  ['listmle + distance', { kind: 'listmle', distance: { weight: 0.3 } }],
  ['pairwise + distance', { kind: 'pairwise', distance: { weight: 0.3 } }],
];

/** B = 3 rows of K = 6: random scores, positions on a 2.5 mm grid in random order with one tie per row. */
const B = 3;
const K = 6;
const randomBatch = (seed: number): { s: number[][]; z: number[][] } => {
  const r = seededNormal(2 * B * K, seed);
  const s: number[][] = [];
  const z: number[][] = [];
  for (let b = 0; b < B; b++) {
    s.push(Array.from(r.subarray(b * K, (b + 1) * K)));
    const keys = Array.from(r.subarray(B * K + b * K, B * K + (b + 1) * K));
    const order = keys.map((_, i) => i).sort((i, j) => keys[i]! - keys[j]!);
    const row = new Array<number>(K);
    order.forEach((slot, rank) => (row[slot] = 2.5 * Math.min(rank, K - 2))); // the top two share a position
    z.push(row);
  }
  return { s, z };
};

describe('sortingLoss: invariances, B=3 K=6 with ties', () => {
  const { s, z } = randomBatch(7);
  it.each(VARIANTS)('%s: unchanged when slices are permuted together with their positions', (_n, o) => {
    const perm = [4, 0, 5, 2, 1, 3];
    const ps = s.map((row) => perm.map((p) => row[p]!));
    const pz = z.map((row) => perm.map((p) => row[p]!));
    expect(value(ps, pz, o)).toBeCloseTo(value(s, z, o), 5);
  });
  it.each(VARIANTS)('%s: unchanged when every score moves by a constant', (_n, o) => {
    expect(value(s.map((row) => row.map((v) => v + 3.7)), z, o)).toBeCloseTo(value(s, z, o), 5);
  });
  it.each(VARIANTS)('%s: larger for reversed scores than for correctly ordered ones', (_n, o) => {
    const ordered = z.map((row) => row.map((v) => v / 2.5));
    const reversed = ordered.map((row) => row.map((v) => -v));
    expect(value(reversed, z, o)).toBeGreaterThan(value(ordered, z, o) + 0.5);
  });
});

describe('sortingLoss: gradients', () => {
  // Gradients here are ~0.1 (the loss is a mean over B·K = 18 slices); the largest
  // |numeric − analytic| measured at h = 1e-2 is 9e-6 (scripts/gradprobe.run.ts). atol = 1e-4 is
  // 11× that; a 1% error in a component of 0.1 (1e-3) fails.
  const tol = { h: GRAD_STEP, rtol: 1e-3, atol: 1e-4 };
  const { s, z } = randomBatch(11);
  it.each(VARIANTS)('%s: tf.grad matches central differences, scores=[3,6]', (_n, o) => {
    const zt = tf.tensor2d(z);
    const r = gradCheck((x) => sortingLoss(x as Tensor2D, zt, o), tf.tensor2d(s), tol);
    tf.dispose(zt);
    expect(r.maxAbs).toBeGreaterThan(1e-2);
    expect(r.worst).toBeLessThanOrEqual(1);
  });
  it('the gradient of a correctly ordered row pushes the top slice up and the bottom one down (listmle)', () => {
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => sortingLoss(x as Tensor2D, tf.tensor2d([[0, 1, 2]])))(tf.tensor2d([[0, 0, 0]])).dataSync());
    expect(g[2]!).toBeLessThan(0); // descent raises s of the highest slice
    expect(g[0]!).toBeGreaterThan(0);
    expect(g[0]! + g[1]! + g[2]!).toBeCloseTo(0, 6); // shift invariance: gradients sum to 0
  });
  it.each(VARIANTS)('%s: leaks no tensors (forward and tf.grad)', (_n, o) => {
    const st = tf.tensor2d(s);
    const zt = tf.tensor2d(z);
    const before = tf.memory().numTensors;
    sortingLoss(st, zt, o).dispose();
    tf.grad((x: tf.Tensor) => sortingLoss(x as Tensor2D, zt, o))(st).dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([st, zt]);
  });
});

describe('sortingLoss: validation', () => {
  const t = (shape: [number, number], dtype: 'float32' | 'int32' = 'float32') => tf.zeros(shape, dtype) as Tensor2D;
  it('scores [4,8] and positions [4,6] differ', () => {
    expect(() => sortingLoss(t([4, 8]), t([4, 6]))).toThrow('Error in sortingLoss: scores [4,8] and positions [4,6] differ');
    expect(() => sortingLoss(t([4, 8]), t([4, 6]))).toThrow(ShapeError);
  });
  it('rank 1 scores are refused, naming the layout', () => {
    expect(() => sortingLoss(tf.zeros([8]) as unknown as Tensor2D, t([1, 8]))).toThrow(
      'Error in sortingLoss: scores must be rank 2 [B, K], got shape [8]',
    );
  });
  it('K = 1 is refused', () => {
    expect(() => sortingLoss(t([4, 1]), t([4, 1]))).toThrow('Error in sortingLoss: need B ≥ 1 rows of K ≥ 2 slices, got scores [4,1]');
  });
  it('int32 scores are refused; int32 positions are fine', () => {
    expect(() => sortingLoss(t([2, 3], 'int32'), t([2, 3]))).toThrow(DtypeError);
    expect(() => sortingLoss(t([2, 3], 'int32'), t([2, 3]))).toThrow('Error in sortingLoss: scores must be float32, got int32');
    expect(() => sortingLoss(t([2, 3]), t([2, 3], 'int32')).dispose()).not.toThrow();
  });
  it.each<[string, SortingLossOptions, string]>([
    ['negative margin', { kind: 'pairwise', margin: -1 }, 'Error in sortingLoss: margin must be a finite number ≥ 0, got -1'],
    ['NaN distance weight', { kind: 'listmle', distance: { weight: NaN } }, 'Error in sortingLoss: distance.weight must be a finite number ≥ 0, got NaN'],
    ['unknown kind', { kind: 'softrank' } as unknown as SortingLossOptions, 'Error in sortingLoss: kind must be one of listmle, pairwise, adjacent, got softrank'],
  ])('%s', (_n, o, message) => {
    expect(() => sortingLoss(t([2, 3]), t([2, 3]), o)).toThrow(OptionError);
    expect(() => sortingLoss(t([2, 3]), t([2, 3]), o)).toThrow(message);
  });
});

describe('spearman', () => {
  it.each<[string, number[], number[], number]>([
    ['same order', [0.1, 0.5, 2], [10, 20, 30], 1],
    ['reversed', [3, 2, 1], [10, 20, 30], -1],
    ['any monotone map (ranks only)', [1, 100, 1e4, 1e6], [-3, -2, 5, 9], 1],
    // Ranks a = [1, 2.5, 2.5, 4], b = [1, 2, 3, 4], mean 2.5: Σdadb = 4.5, Σda² = 4.5, Σdb² = 5 → 4.5/√22.5.
    ['tied scores get average ranks', [1, 2, 2, 3], [1, 2, 3, 4], 4.5 / Math.sqrt(22.5)],
    // Ranks a = [1,2,3], b = [2,1,3]: da = [−1,0,1], db = [0,−1,1] → Σdadb = 1, Σda² = Σdb² = 2 → 0.5.
    ['one swap of 3', [1, 2, 3], [20, 10, 30], 0.5],
  ])('%s', (_n, s, z, expected) => {
    expect(spearman(s, z)).toBeCloseTo(expected, 12);
  });
  it('takes typed arrays', () => {
    expect(spearman(new Float32Array([1, 2, 3]), new Float64Array([3, 4, 5]))).toBe(1);
  });
  it('is NaN when an input is constant or holds NaN', () => {
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(spearman([1, NaN, 2], [1, 2, 3])).toBeNaN();
  });
  it('refuses different lengths and fewer than 2 values', () => {
    expect(() => spearman([1, 2, 3], [1, 2])).toThrow('Error in spearman: scores [3] and positions [2] differ');
    expect(() => spearman([1], [1])).toThrow('Error in spearman: need at least 2 values, got 1');
  });
});
