import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs-core';
import { ShapeError } from './errors';
import { assertEmbeddingPair } from './validate';

const OP = 'infoNceLoss';

/**
 * InfoNCE, the loss of contrastive predictive coding (van den Oord et al. 2018, "Representation
 * learning with contrastive predictive coding"). Shapes: `predictions`, `codes` [M, D] float32;
 * row i of `predictions` predicts row i of `codes` (its positive), every other row of `codes` is
 * a negative. With bilinear scores s_ij = predictions_i · codes_j,
 *
 *   L = (1/M) Σ_i [ −s_ii + log Σ_j exp(s_ij) ],
 *
 * an M-way softmax cross-entropy per prediction; log M for uninformative (all-equal) scores.
 * @throws ShapeError, DtypeError
 */
export function infoNceLoss(predictions: Tensor2D, codes: Tensor2D): Scalar {
  const [m, d] = assertEmbeddingPair(OP, predictions, codes, ['predictions', 'codes']);
  if (m < 2 || d < 1) throw new ShapeError(OP, `need M ≥ 2 (negatives) and D ≥ 1, got predictions [${m},${d}]`, { predictions: predictions.shape });
  return tf.tidy(() => {
    const scores = tf.matMul(predictions, codes, false, true); // [M, M]
    const positive = tf.sum(tf.mul(predictions, codes), 1);
    return tf.mean(tf.sub(tf.logSumExp(scores, 1), positive));
  });
}
