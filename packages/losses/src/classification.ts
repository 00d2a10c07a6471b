import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs-core';
import { OptionError, ShapeError } from './errors';
import { assertDtype, assertFinite, assertRank } from './validate';

export interface ClassificationLossOptions {
  /** ε ∈ [0, 1): the target puts 1 − ε on the label and ε/C on every class (CSPR: 0.1). Default 0. */
  readonly labelSmoothing?: number;
}

const OP = 'classificationLoss';

/**
 * Softmax cross-entropy of class logits (the 3D proxy tasks' rotation, patch-location and jigsaw
 * classes; CSPR's supervised classes). Shapes: `logits` [N, C] float32, `labels` N class indices
 * in [0, C). With q_n = (1 − ε)·onehot(labels[n]) + ε/C,
 *
 *   L = −(1/N) Σ_n Σ_c q_nc · log softmax(logits_n)_c.
 *
 * Uniform logits give log C whatever the labels.
 * @throws ShapeError, DtypeError, OptionError
 */
export function classificationLoss(logits: Tensor2D, labels: ArrayLike<number>, options: ClassificationLossOptions = {}): Scalar {
  assertRank(OP, 'logits', logits, 2, '[N, C]');
  assertDtype(OP, 'logits', logits, ['float32']);
  const [n, c] = logits.shape;
  if (n < 1 || c < 2) throw new ShapeError(OP, `need N ≥ 1 and C ≥ 2, got logits [${n},${c}]`, { logits: logits.shape });
  if (labels.length !== n) throw new ShapeError(OP, `logits [${n},${c}] need ${n} labels, got ${labels.length}`, { logits: logits.shape, labels: [labels.length] });
  const eps = options.labelSmoothing ?? 0;
  assertFinite(OP, 'labelSmoothing', eps, 0, true);
  if (eps >= 1) throw new OptionError(OP, 'labelSmoothing', eps, 'in [0, 1)');
  const q = new Float32Array(n * c).fill(eps / c);
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l >= c) throw new OptionError(OP, `labels[${i}]`, l, `a class index in [0, ${c})`);
    q[i * c + l] = 1 - eps + eps / c;
  }
  return tf.tidy(() => tf.neg(tf.div(tf.sum(tf.mul(tf.tensor2d(q, [n, c]), tf.logSoftmax(logits, 1))), n)) as Scalar);
}
