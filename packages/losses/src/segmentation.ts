import * as tf from '@tensorflow/tfjs-core';
import type { Rank, Scalar, Tensor, Tensor1D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { replicaSum, replicaSumEach, sumAcrossReplicas } from '@tomosort/replicas';
import { ShapeError } from './errors';
import { assertDtype, assertFinite, assertRank, fmtShape } from './validate';

/**
 * The target of a segmentation loss: integer class labels [N, H, W] (int32, one per pixel) or
 * one-hot (or soft) class probabilities [N, H, W, C] (float32).
 *
 * A pixel whose target names no class — a label outside [0, C) such as −1 or 255, or an all-zero
 * one-hot row — is ignored, exactly as if its weight were 0.
 */
export type SegmentationTarget = Tensor3D | Tensor4D;

export interface SegmentationLossOptions {
  /**
   * Per-pixel weights [N, H, W] or per-image weights [N], ≥ 0; 0 = ignore. Default: all 1.
   * Fine-tuning on sparse annotations gives unannotated slices weight 0, so that they are never
   * taken for background.
   */
  readonly weight?: Tensor1D | Tensor3D;
}

export interface DiceLossOptions extends SegmentationLossOptions {
  /** Whether class 0 counts in the mean over classes. Default true (as MONAI's DiceLoss). */
  readonly includeBackground?: boolean;
  /** ε ≥ 0 added to numerator and denominator. Default 1e-5. */
  readonly smooth?: number;
}

export const DEFAULT_DICE_SMOOTH = 1e-5;

interface Prepared {
  /** One-hot (or soft) target as float32, [N, H, W, C]. */
  readonly g: Tensor4D;
  /** Effective weight per pixel (user weight × "has a class"), [N, H, W, 1]. */
  readonly w: Tensor4D;
}

function validate(op: string, logits: Tensor4D, target: SegmentationTarget, weight: Tensor | undefined): void {
  assertRank(op, 'logits', logits, 4, '[N, H, W, C]');
  assertDtype(op, 'logits', logits, ['float32']);
  const [n, h, w, c] = logits.shape;
  if (n < 1 || h < 1 || w < 1 || c < 1) {
    throw new ShapeError(op, `logits ${fmtShape(logits.shape)} has an empty axis`, { logits: logits.shape });
  }
  const labels = [n, h, w];
  const expect = (want: readonly number[]) => target.rank === want.length && target.shape.every((d, i) => d === want[i]);
  if (target.rank === 3) {
    assertDtype(op, 'target labels', target, ['int32']);
  } else if (target.rank === 4) {
    assertDtype(op, 'one-hot target', target, ['float32', 'int32']);
  }
  if (!expect(labels) && !expect(logits.shape)) {
    throw new ShapeError(
      op,
      `logits ${fmtShape(logits.shape)} and target ${fmtShape(target.shape)} differ: expected labels ${fmtShape(labels)} or one-hot ${fmtShape(logits.shape)}`,
      { logits: logits.shape, target: target.shape },
    );
  }
  if (weight !== undefined) {
    if (!((weight.rank === 1 && weight.shape[0] === n) || (weight.rank === 3 && weight.shape.every((d, i) => d === labels[i])))) {
      throw new ShapeError(
        op,
        `logits ${fmtShape(logits.shape)} and weight ${fmtShape(weight.shape)} differ: expected per-pixel ${fmtShape(labels)} or per-image [${n}]`,
        { logits: logits.shape, weight: weight.shape },
      );
    }
    assertDtype(op, 'weight', weight, ['float32', 'int32', 'bool']);
  }
}

/** Call inside tf.tidy. */
function prepare(logits: Tensor4D, target: SegmentationTarget, weight: Tensor1D | Tensor3D | undefined): Prepared {
  const [n, h, w, c] = logits.shape;
  // tf.oneHot gives an all-zero row for labels outside [0, C): such pixels drop out below.
  const g = (target.rank === 3 ? tf.cast(tf.oneHot(target, c), 'float32') : tf.cast(target, 'float32')) as Tensor4D;
  const hasClass = tf.cast(tf.greater(tf.sum(g, 3, true), 0), 'float32') as Tensor4D; // [N, H, W, 1]
  const user =
    weight === undefined
      ? undefined
      : tf.reshape<Rank.R4>(tf.cast(weight, 'float32'), weight.rank === 1 ? [n, 1, 1, 1] : [n, h, w, 1]);
  return { g, w: user === undefined ? hasClass : tf.mul(hasClass, user) };
}

/**
 * Soft Dice loss for segmentation (Milletari et al. 2016, "V-Net", 3DV; the soft form with
 * smoothing as in MONAI's DiceLoss).
 *
 * Shapes: `logits` [N, H, W, C] float32 (softmax over C gives p); `target` int32 labels
 * [N, H, W] or float32 one-hot [N, H, W, C] (g); `options.weight` [N, H, W] or [N] (w, 0 =
 * ignore). Sums run over the whole batch (batch Dice), so a class missing from one image
 * is no problem:
 *
 *   I_c = Σ_{n,h,w} w·p_c·g_c,  P_c = Σ w·p_c,  G_c = Σ w·g_c,
 *   L = 1 − mean_{c ∈ classes} (2 I_c + ε) / (P_c + G_c + ε),
 *
 * with classes = 0 … C−1, or 1 … C−1 when `includeBackground` is false. A class absent from both
 * target and prediction scores ≈ 1; a batch with no weighted pixel gives L = 0.
 *
 * @param options.includeBackground default true
 * @param options.smooth ε ≥ 0, default {@link DEFAULT_DICE_SMOOTH}; ε = 0 gives NaN for an empty class
 * @returns a Scalar in [0, 1]; differentiable in `logits`
 * @throws ShapeError, DtypeError, OptionError
 */
export function diceLoss(logits: Tensor4D, target: SegmentationTarget, options: DiceLossOptions = {}): Scalar {
  const op = 'diceLoss';
  validate(op, logits, target, options.weight);
  const smooth = options.smooth ?? DEFAULT_DICE_SMOOTH;
  assertFinite(op, 'smooth', smooth, 0, true);
  const includeBackground = options.includeBackground ?? true;
  const c = logits.shape[3];
  if (!includeBackground && c < 2) {
    throw new ShapeError(op, `includeBackground: false needs C ≥ 2 classes, got logits ${fmtShape(logits.shape)}`, {
      logits: logits.shape,
    });
  }
  return tf.tidy(() => {
    const { g, w } = prepare(logits, target, options.weight);
    const p = tf.softmax(logits, -1);
    const axes = [0, 1, 2];
    // Sums over all C classes, then the background dropped from the [C] vectors: slicing the
    // [N, H, W, C] maps instead costs a strided copy forward and a pad backward (~25 ms a step
    // of a 128² batch of 8).
    const cut = (t: tf.Tensor1D): tf.Tensor1D => (includeBackground ? t : tf.slice(t, [1], [-1]));
    // On replicas (data-parallel training) the batch is every replica's shard: the sums span them all.
    const [interAll, pAll, gAll] = replicaSumEach(tf.sum(tf.mul(w, tf.mul(p, g)), axes), tf.sum(tf.mul(w, p), axes), tf.sum(tf.mul(w, g), axes)) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
    const inter = cut(interAll); // [C']
    const denom = tf.add(cut(pAll), cut(gAll));
    const dice = tf.div(tf.add(tf.mul(2, inter), smooth), tf.add(denom, smooth));
    return tf.sub(1, tf.mean(dice));
  });
}

/**
 * Pixel-wise softmax cross-entropy for segmentation, weighted mean over pixels.
 *
 * Shapes as {@link diceLoss}. With log p = logSoftmax(logits) over C:
 *
 *   ℓ_{nhw} = −Σ_c g_c log p_c,   L = Σ w·ℓ / Σ w   (L = 0 when Σ w = 0).
 *
 * @returns a Scalar ≥ 0; differentiable in `logits`
 * @throws ShapeError, DtypeError
 */
export function crossEntropyLoss(logits: Tensor4D, target: SegmentationTarget, options: SegmentationLossOptions = {}): Scalar {
  const op = 'crossEntropyLoss';
  validate(op, logits, target, options.weight);
  return tf.tidy(() => {
    const { g, w } = prepare(logits, target, options.weight);
    const nll = tf.neg(tf.sum(tf.mul(g, tf.logSoftmax(logits, -1)), 3, true)); // [N, H, W, 1]
    // Numerator and Σ w over every replica's shard on replicas (Σ w needs no gradient).
    const loss = replicaSum(tf.sum(tf.mul(w, nll)));
    const total = sumAcrossReplicas(tf.sum(w));
    return tf.div(loss, tf.where(tf.greater(total, 0), total, 1));
  });
}

/**
 * Hard Dice score of one label for evaluation: 2|P ∩ T| / (|P| + |T|) with P = {pred = label},
 * T = {target = label}, counted where `mask` (same length, optional) is non-zero.
 *
 * @returns a number in [0, 1]; 1 when the label is absent from both (nothing to find, nothing found)
 * @throws ShapeError when the lengths differ
 */
export function diceScore(
  pred: Int32Array | Uint8Array,
  target: Int32Array | Uint8Array,
  label: number,
  mask?: ArrayLike<number>,
): number {
  if (pred.length !== target.length || (mask !== undefined && mask.length !== pred.length)) {
    const shapes: Record<string, number[]> = { pred: [pred.length], target: [target.length] };
    if (mask !== undefined) shapes['mask'] = [mask.length];
    const detail = Object.entries(shapes)
      .map(([k, v]) => `${k} ${fmtShape(v)}`)
      .join(', ');
    throw new ShapeError('diceScore', `lengths differ: ${detail}`, shapes);
  }
  let inter = 0;
  let sum = 0;
  for (let i = 0; i < pred.length; i++) {
    if (mask !== undefined && !mask[i]) continue;
    const p = pred[i] === label;
    const t = target[i] === label;
    if (p && t) inter++;
    sum += Number(p) + Number(t);
  }
  return sum === 0 ? 1 : (2 * inter) / sum;
}
