import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs-core';
import { ShapeError } from './errors';
import { assertEmbeddingPair, assertFinite } from './validate';

export interface BarlowTwinsOptions {
  /** Weight λ ≥ 0 of the off-diagonal (redundancy-reduction) term. Default 0.0051. */
  readonly lambda?: number;
  /** ε ≥ 0 added to each dimension's variance before the square root. Default 1e-5. */
  readonly eps?: number;
}

/** λ from the paper (tuned there for D = 8192; roughly 1/D keeps both terms comparable). */
export const DEFAULT_BARLOW_LAMBDA = 0.0051;
/** As the reference implementation's BatchNorm1d(affine=False). */
export const DEFAULT_BARLOW_EPS = 1e-5;

const OP = 'barlowTwinsLoss';

/**
 * Barlow Twins (Zbontar et al. 2021, "Barlow Twins: self-supervised learning via redundancy
 * reduction", ICML).
 *
 * Shapes: `z1`, `z2` [N, D] float32, the embeddings of two views of the same N examples.
 * Each dimension is standardised over the batch, ẑ = (z − μ) / sqrt(σ² + ε) with μ and σ² the
 * batch mean and biased (÷N) variance (as BatchNorm without affine parameters). Then
 *
 *   C = ẑ1ᵀ ẑ2 / N  ([D, D], the cross-correlation matrix),
 *   L = Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij².
 *
 * L is a sum over dimensions (not normalised by D), so it grows with D; L = 0 exactly when C = I
 * (ε = 0), e.g. identical views whose dimensions are already uncorrelated. Needs N ≥ 2; with
 * ε = 0 a dimension that is constant over the batch gives NaN.
 *
 * @param options.lambda λ ≥ 0, default {@link DEFAULT_BARLOW_LAMBDA}
 * @param options.eps ε ≥ 0, default {@link DEFAULT_BARLOW_EPS}
 * @returns a Scalar; differentiable in `z1` and `z2`
 * @throws ShapeError, DtypeError, OptionError
 */
export function barlowTwinsLoss(z1: Tensor2D, z2: Tensor2D, options: BarlowTwinsOptions = {}): Scalar {
  const [n, d] = assertEmbeddingPair(OP, z1, z2);
  if (n < 2 || d < 1) throw new ShapeError(OP, `need N ≥ 2 and D ≥ 1, got z1 [${n},${d}]`, { z1: z1.shape });
  const lambda = options.lambda ?? DEFAULT_BARLOW_LAMBDA;
  const eps = options.eps ?? DEFAULT_BARLOW_EPS;
  assertFinite(OP, 'lambda', lambda, 0, true);
  assertFinite(OP, 'eps', eps, 0, true);
  return tf.tidy(() => {
    const standardise = (z: Tensor2D): Tensor2D => {
      const { mean, variance } = tf.moments(z, 0, true);
      return tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, eps)));
    };
    const c = tf.div(tf.matMul(standardise(z1), standardise(z2), true, false), n); // [D, D]
    const eye = tf.eye(d);
    const diag = tf.sum(tf.mul(c, eye), 1); // [D]
    const onDiag = tf.sum(tf.square(tf.sub(1, diag)));
    const offDiag = tf.sum(tf.mul(tf.square(c), tf.sub(1, eye)));
    return tf.add(onDiag, tf.mul(lambda, offDiag));
  });
}
