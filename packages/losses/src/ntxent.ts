import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs-core';
import { ShapeError } from './errors';
import { assertEmbeddingPair, assertFinite } from './validate';

export interface NtXentOptions {
  /** Softmax temperature τ > 0. Default 0.1. */
  readonly temperature?: number;
}

/** Default τ. SimCLR tunes τ ∈ {0.1, 0.5, 1}; 0.1 is its choice for large batches. */
export const DEFAULT_NT_XENT_TEMPERATURE = 0.1;

/** Rows shorter than this are divided by it instead of by their norm (no division by zero). */
const NORM_EPS = 1e-6;
const NEG = -1e9;
const OP = 'ntXentLoss';

/**
 * NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR (Chen et al. 2020, "A
 * simple framework for contrastive learning of visual representations", ICML).
 *
 * Shapes: `z1`, `z2` [N, D] float32, row n of each being the projection of one of two views of
 * example n. Rows are L2-normalised (divided by max(‖z‖, 1e-6)), stacked into u = [z1; z2]
 * ([2N, D]) and compared by cosine similarity sim(a, b) = u_aᵀu_b. Anchor a's positive is its
 * other view p(a) = a ± N; its 2N − 2 negatives are the other examples' views. With τ the
 * temperature,
 *
 *   ℓ_a = −sim(a, p(a))/τ + log Σ_{k ≠ a} exp(sim(a, k)/τ),   L = (1/2N) Σ_a ℓ_a,
 *
 * a (2N − 1)-way softmax cross-entropy per anchor that excludes self-similarity. With N = 1 the
 * positive is the only candidate and L = 0. L ≥ 0 always; log(2N − 1) is the value for
 * uninformative (all-equal) similarities.
 *
 * @param options.temperature τ > 0, default {@link DEFAULT_NT_XENT_TEMPERATURE}
 * @returns a Scalar; differentiable in `z1` and `z2`
 * @throws ShapeError, DtypeError, OptionError
 */
export function ntXentLoss(z1: Tensor2D, z2: Tensor2D, options: NtXentOptions = {}): Scalar {
  const [n, d] = assertEmbeddingPair(OP, z1, z2);
  if (n < 1 || d < 1) throw new ShapeError(OP, `need N ≥ 1 and D ≥ 1, got z1 [${n},${d}]`, { z1: z1.shape });
  const tau = options.temperature ?? DEFAULT_NT_XENT_TEMPERATURE;
  assertFinite(OP, 'temperature', tau, 0, false);

  // Constant masks, built in JS: the diagonal (self-similarity) and the positive of each anchor.
  const self = new Uint8Array(4 * n * n);
  const positive = new Float32Array(4 * n * n);
  for (let a = 0; a < 2 * n; a++) {
    self[a * 2 * n + a] = 1;
    positive[a * 2 * n + ((a + n) % (2 * n))] = 1;
  }
  return tf.tidy(() => {
    const normalise = (z: Tensor2D): Tensor2D =>
      tf.mul(z, tf.rsqrt(tf.maximum(tf.sum(tf.square(z), 1, true), NORM_EPS * NORM_EPS)));
    const u = tf.concat([normalise(z1), normalise(z2)], 0);
    const logits = tf.div(tf.matMul(u, u, false, true), tau); // [2N, 2N]
    const others = tf.where(tf.tensor2d(self, [2 * n, 2 * n], 'bool'), NEG, logits);
    const pos = tf.sum(tf.mul(logits, tf.tensor2d(positive, [2 * n, 2 * n])), 1); // [2N]
    return tf.mean(tf.sub(tf.logSumExp(others, 1), pos));
  });
}
