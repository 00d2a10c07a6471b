import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs-core';
import { ShapeError } from './errors';
import { assertEmbeddingPair, assertFinite } from './validate';

export interface TripletLossOptions {
  /** Margin m ≥ 0. Default 1 (Taleb et al.'s 3D exemplar networks). */
  readonly margin?: number;
}

export const DEFAULT_TRIPLET_MARGIN = 1;
const OP = 'tripletLoss';

/**
 * The triplet loss of exemplar networks (Schroff et al. 2015, "FaceNet", CVPR; used by Taleb et
 * al. 2020 for 3D exemplar networks). Shapes: `anchor`, `positive`, `negative` [N, D] float32; with
 * squared Euclidean distances d(a, b) = ‖a − b‖²,
 *
 *   L = (1/N) Σ_n max(0, d(a_n, p_n) − d(a_n, n_n) + m).
 *
 * A triplet whose negative is farther than its positive by more than m adds 0 (and no gradient).
 * @throws ShapeError, DtypeError, OptionError
 */
export function tripletLoss(anchor: Tensor2D, positive: Tensor2D, negative: Tensor2D, options: TripletLossOptions = {}): Scalar {
  const [n, d] = assertEmbeddingPair(OP, anchor, positive, ['anchor', 'positive']);
  assertEmbeddingPair(OP, anchor, negative, ['anchor', 'negative']);
  if (n < 1 || d < 1) throw new ShapeError(OP, `need N ≥ 1 and D ≥ 1, got anchor [${n},${d}]`, { anchor: anchor.shape });
  const m = options.margin ?? DEFAULT_TRIPLET_MARGIN;
  assertFinite(OP, 'margin', m, 0, true);
  return tf.tidy(() => {
    const dist = (b: Tensor2D) => tf.sum(tf.square(tf.sub(anchor, b)), 1);
    return tf.mean(tf.relu(tf.add(tf.sub(dist(positive), dist(negative)), m)));
  });
}
