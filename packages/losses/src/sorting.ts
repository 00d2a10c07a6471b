import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { LossError, OptionError, ShapeError } from './errors';
import { assertDtype, assertFinite, assertRank, assertSameShape } from './validate';

/**
 * How the scores of one row are compared with the true order of its slices.
 * Every variant is invariant to adding a constant to a row's scores and to permuting a row's
 * slices together with their positions (ties included).
 */
export type SortingRanking =
  /**
   * ListMLE (Xia et al. 2008): negative log-likelihood of the true order under a Plackett–Luce
   * model of the scores, with Breslow's risk sets for tied positions. The default.
   */
  | { readonly kind: 'listmle' }
  /** RankNet-style logistic loss over every pair of slices with different positions. */
  | { readonly kind: 'pairwise'; /** Default 0. */ readonly margin?: number }
  /** The pairwise logistic loss (margin 0) over neighbours in the sorted order only. */
  | { readonly kind: 'adjacent' };

/** The kinds of {@link SortingRanking}, for CLIs and configs. */
export const SORTING_RANKINGS = ['listmle', 'pairwise', 'adjacent'] as const satisfies readonly SortingRanking['kind'][];

/** Adds `weight ×` {@link sortingDistanceTerm} to the ranking loss. */
export interface SortingDistance {
  readonly weight: number;
}

export type SortingLossOptions = SortingRanking & {
  /** Optional spacing-consistency term (Yan et al. 2018); none by default. */
  readonly distance?: SortingDistance;
};

/** ListMLE without a distance term. */
export const DEFAULT_SORTING_LOSS: SortingLossOptions = { kind: 'listmle' };

/** Fill for masked-out logits: exp(NEG − max) underflows to exactly 0 on every backend. */
const NEG = -1e9;

const OP = 'sortingLoss';

function validate(op: string, scores: Tensor2D, positions: Tensor2D): void {
  assertRank(op, 'scores', scores, 2, '[B, K]');
  assertRank(op, 'positions', positions, 2, '[B, K]');
  assertSameShape(op, 'scores', scores, 'positions', positions);
  assertDtype(op, 'scores', scores, ['float32']);
  assertDtype(op, 'positions', positions, ['float32', 'int32']);
  const [b, k] = scores.shape;
  if (b < 1 || k < 2) {
    throw new ShapeError(op, `need B ≥ 1 rows of K ≥ 2 slices, got scores [${b},${k}]`, { scores: scores.shape });
  }
}

/** Masks over slice pairs (i, j) of each row, shape [B, K(i), K(j)]. Positions carry no gradient. */
interface PairMasks {
  /** z_j ≤ z_i: the Plackett–Luce risk set of slice i (itself and every slice not above it). */
  readonly notAbove: Tensor3D;
  /** z_i < z_j: j lies strictly above i. */
  readonly above: Tensor3D;
  /** z_j is the smallest position strictly above z_i: neighbours in sorted order (tie groups connect to tie groups). */
  readonly next: Tensor3D;
}

function pairMasks(positions: Tensor2D): PairMasks {
  const z = tf.cast(positions, 'float32');
  const zi = tf.expandDims(z, 2) as Tensor3D; // [B, K, 1]
  const zj = tf.expandDims(z, 1) as Tensor3D; // [B, 1, K]
  const above = tf.less(zi, zj) as Tensor3D;
  // Smallest z_j above z_i. Where nothing lies above, fill with the row maximum: `next` is
  // ANDed with `above`, so the fill can never create a pair.
  const rowMax = tf.expandDims(tf.max(z, 1, true), 2); // [B, 1, 1]
  const nextZ = tf.min(tf.where(above, zj, rowMax), 2, true); // [B, K, 1]
  const next = tf.logicalAnd(above, tf.equal(zj, nextZ)) as Tensor3D;
  return { notAbove: tf.lessEqual(zj, zi) as Tensor3D, above, next };
}

/** Σ over the last two axes of `mask · values` divided by the number of pairs in `mask` (0 when there are none). */
function maskedMean(values: Tensor3D, mask: Tensor3D): Scalar {
  const m = tf.cast(mask, 'float32');
  const n = tf.sum(m);
  return tf.div(tf.sum(tf.mul(m, values)), tf.maximum(n, 1)) as Scalar;
}

/**
 * ListMLE, per slice: (1/BK) Σ_b Σ_i [ logsumexp_{j: z_j ≤ z_i} s_j − s_i ].
 * Without ties this is Xia et al.'s Σ_r [ logsumexp(s_{π(r..K)}) − s_{π(r)} ] with π sorting the
 * row by DEScending position (the highest slice must win first), which rewards scores rising with z.
 */
function listMle(scores: Tensor2D, masks: PairMasks): Scalar {
  const sj = tf.expandDims(scores, 1) as Tensor3D; // [B, 1, K]
  const riskLse = tf.logSumExp(tf.where(masks.notAbove, sj, NEG), 2); // [B, K]
  return tf.mean(tf.sub(riskLse, scores));
}

/** softplus(margin − (s_j − s_i)) over the pairs in `mask`, mean over all such pairs of the batch. */
function logisticPairs(scores: Tensor2D, mask: Tensor3D, margin: number): Scalar {
  const diff = tf.sub(tf.expandDims(scores, 1), tf.expandDims(scores, 2)) as Tensor3D; // [b,i,j] = s_j − s_i
  return maskedMean(tf.softplus(tf.sub<Tensor3D>(margin, diff)), mask);
}

function distanceTerm(scores: Tensor2D, positions: Tensor2D, next: Tensor3D): Scalar {
  const z = tf.cast(positions, 'float32');
  const m = tf.cast(next, 'float32'); // [B, K, K], 1 on neighbour pairs
  const n = tf.maximum(tf.sum(m, [1, 2]), 1); // pairs per row, [B]
  const ds = tf.sub(tf.expandDims(scores, 1), tf.expandDims(scores, 2)); // s_j − s_i
  const dz = tf.sub(tf.expandDims(z, 1), tf.expandDims(z, 2)); // z_j − z_i (> 0 on `next`)
  const meanStep = tf.reshape(tf.div(tf.sum(tf.mul(m, dz), [1, 2]), n), [-1, 1, 1]); // h̄_b
  // Score step rescaled to the row's mean spacing: h̄_b · (s_j − s_i) / (z_j − z_i).
  const step = tf.mul(meanStep, tf.div(ds, tf.where(next, dz, 1)));
  const mean = tf.reshape(tf.div(tf.sum(tf.mul(m, step), [1, 2]), n), [-1, 1, 1]);
  const variance = tf.div(tf.sum(tf.mul(m, tf.square(tf.sub(step, mean))), [1, 2]), n);
  return tf.mean(variance);
}

/**
 * The distance term alone (after Yan et al. 2018, "Unsupervised body part regression via
 * spatially self-ordering convolutional neural networks", ISBI): score steps between neighbouring
 * slices should be proportional to their mm steps. For each row b, with A_b its neighbour pairs in
 * sorted order (z_i < z_j with no position strictly between; tied slices are never paired with
 * each other) and h̄_b = mean_{A_b} (z_j − z_i) its mean spacing,
 *
 *   r_ij = h̄_b · (s_j − s_i) / (z_j − z_i),   r̄_b = mean_{A_b} r_ij,
 *   D = (1/B) Σ_b (1/|A_b|) Σ_{(i,j)∈A_b} (r_ij − r̄_b)²,
 *
 * the population variance along each row of the score step per mean slice spacing, averaged over
 * rows (a row with no pair contributes 0). For equally spaced slices r_ij is just the score step
 * s_j − s_i between neighbours; Yan et al. penalise the smooth-L1 of successive differences of
 * those steps, and the rescaling by h̄_b extends this to uneven spacing. D is in score² units,
 * does not depend on the unit or origin of z (mm or cm, any offset), is invariant to shifting a
 * row's scores and scales with the square of their spread, so it must be paired with a ranking
 * loss (which pushes the spread up).
 *
 * @param scores [B, K] float32, one score per slice
 * @param positions [B, K] positions along the slice axis in mm (any order, ties allowed)
 * @returns a Scalar; differentiable in `scores`
 * @throws ShapeError, DtypeError
 */
export function sortingDistanceTerm(scores: Tensor2D, positions: Tensor2D): Scalar {
  validate('sortingDistanceTerm', scores, positions);
  return tf.tidy(() => distanceTerm(scores, positions, pairMasks(positions).next));
}

/**
 * SortingLoss: K slices of one volume with known positions z (mm along the slice axis) get one
 * score s each; the loss is small when the scores sort like z, i.e. s rises with z.
 *
 * Shapes: `scores` [B, K] float32 (the network's output, B volumes × K slices); `positions`
 * [B, K] float32 or int32, mm, in any order, ties allowed. Positions carry no gradient.
 *
 * Variants (`options.kind`), each a mean so that its size does not grow with B or K:
 * - `listmle` (default; Xia et al. 2008, "Listwise approach to learning to rank: theory and
 *   algorithm", ICML): L = (1/BK) Σ_b Σ_i [ logsumexp_{j: z_j ≤ z_i} s_j − s_i ] — the negative
 *   log-likelihood of the true order under a Plackett–Luce model, normalised by K (per slice).
 *   For slices without ties, taking them from highest to lowest position, each term is the
 *   softmax cross-entropy of choosing that slice among those not yet chosen. Tied slices share
 *   their risk set (Breslow's approximation, as in the Cox partial likelihood), so the loss does
 *   not depend on how ties are ordered. Computed with a K×K mask and a max-shifted logsumexp.
 * - `pairwise` (RankNet, Burges et al. 2005): L = mean over all pairs with z_i < z_j of
 *   softplus(margin − (s_j − s_i)); pairs with equal z are skipped; margin ≥ 0, default 0.
 * - `adjacent`: the same logistic term (margin 0) over neighbours in sorted order only (z_i < z_j
 *   with no position strictly between; with ties, every slice of one tie group is paired with
 *   every slice of the next).
 * The pair means run over every qualifying pair of the batch (0 if there is none).
 *
 * `options.distance` adds `weight ×` {@link sortingDistanceTerm} (variance of the neighbour score
 * steps, each rescaled to the row's mean spacing).
 *
 * @example
 * const loss = sortingLoss(scores, positions); // ListMLE
 * const loss2 = sortingLoss(scores, positions, { kind: 'pairwise', margin: 1, distance: { weight: 0.1 } });
 * @returns a Scalar; differentiable in `scores`
 * @throws ShapeError, DtypeError, OptionError
 */
export function sortingLoss(
  scores: Tensor2D,
  positions: Tensor2D,
  options: SortingLossOptions = DEFAULT_SORTING_LOSS,
): Scalar {
  validate(OP, scores, positions);
  const margin = options.kind === 'pairwise' ? (options.margin ?? 0) : 0;
  assertFinite(OP, 'margin', margin, 0, true);
  if (!SORTING_RANKINGS.includes(options.kind)) {
    throw new OptionError(OP, 'kind', options.kind, `one of ${SORTING_RANKINGS.join(', ')}`);
  }
  const weight = options.distance?.weight ?? 0;
  assertFinite(OP, 'distance.weight', weight, 0, true);
  return tf.tidy(() => {
    const masks = pairMasks(positions);
    let loss: Scalar;
    switch (options.kind) {
      case 'listmle':
        loss = listMle(scores, masks);
        break;
      case 'pairwise':
        loss = logisticPairs(scores, masks.above, margin);
        break;
      case 'adjacent':
        loss = logisticPairs(scores, masks.next, 0);
        break;
    }
    if (options.distance !== undefined) loss = tf.add(loss, tf.mul(weight, distanceTerm(scores, positions, masks.next)));
    return loss;
  });
}

/** 1-based ranks, ties sharing the average of the ranks they span. */
function averageRanks(v: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const ranks = new Float64Array(v.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && v[order[end]!] === v[order[start]!]) end++;
    const rank = (start + 1 + end) / 2; // mean of start+1 … end
    for (let r = start; r < end; r++) ranks[order[r]!] = rank;
    start = end;
  }
  return ranks;
}

/**
 * Spearman's rank correlation ρ between slice scores and true positions: the Pearson correlation
 * of their ranks, tied values taking the average of their ranks. 1 = the scores sort the slices
 * exactly like their positions, −1 = exactly reversed.
 *
 * @returns ρ in [−1, 1]; NaN when either input is constant (ρ is undefined) or holds a NaN
 * @throws LossError when the lengths differ or fewer than 2 values are given
 */
export function spearman(scores: ArrayLike<number>, positions: ArrayLike<number>): number {
  if (scores.length !== positions.length) {
    throw new ShapeError('spearman', `scores [${scores.length}] and positions [${positions.length}] differ`, {
      scores: [scores.length],
      positions: [positions.length],
    });
  }
  const n = scores.length;
  if (n < 2) throw new LossError('spearman', `need at least 2 values, got ${n}`);
  for (let i = 0; i < n; i++) if (Number.isNaN(scores[i]) || Number.isNaN(positions[i])) return NaN;
  const a = averageRanks(scores);
  const b = averageRanks(positions);
  const mean = (n + 1) / 2; // both rank vectors sum to n(n+1)/2
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - mean;
    const db = b[i]! - mean;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}
