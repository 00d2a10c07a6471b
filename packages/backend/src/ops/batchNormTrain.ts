import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { OpArgumentError } from '../errors';
import type { BatchNormTrainAttrs } from '../kernels';
import { KernelName, nativeKernelsActive } from '../kernels';

const OP = 'batchNormTrain';

/** Options of {@link batchNormTrain}. */
export interface BatchNormTrainOptions {
  /** Default 1e-5 (PyTorch's). */
  readonly epsilon?: number;
  /** Apply ReLU to the result. Default false. */
  readonly relu?: boolean;
  /** Added before the ReLU (a ResNet block's shortcut), x's shape. */
  readonly residual?: Tensor;
}

/** {@link batchNormTrain}'s result. `mean` and `variance` are not differentiated through. */
export interface BatchNormTrainResult<T extends Tensor> {
  readonly y: T;
  /** Batch mean per channel, [C]. */
  readonly mean: tf.Tensor1D;
  /** Biased batch variance per channel, [C]. */
  readonly variance: tf.Tensor1D;
}

function registerGradientOnce(): void {
  if (tf.getGradient(KernelName.BatchNormTrain) != null) return;
  tf.registerGradient({
    kernelName: KernelName.BatchNormTrain,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [true, true, true],
    gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const dy = Array.isArray(dys) ? dys[0]! : dys;
      const [x, scale, y, mean, variance] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
      // One kernel gives every input's gradient; the tape asks for them one at a time.
      const [dx, dscale, doffset, dz] = tf.engine().runKernel(KernelName.BatchNormTrainGrad, { dy, x, scale, mean, variance, y }, attrs) as Tensor[];
      return { x: () => dx!, scale: () => dscale!, offset: () => doffset!, residual: () => dz! };
    },
  });
}

/**
 * Batch normalisation with the batch's statistics (training mode; Ioffe & Szegedy 2015) over the
 * last axis, fused with an optional residual add and ReLU:
 * `y = act(scale·(x − μ)/√(σ² + ε) + offset + residual)`, μ and σ² the per-channel mean and
 * biased variance over every other axis.
 *
 * Where native kernels run (see {@link nativeKernelsActive}) this is one kernel forward and one
 * backward; elsewhere it is `tf.moments` + `tf.batchNorm` (+ `tf.add`) (+ `tf.relu`), with
 * tfjs' gradients through all of them. The gradient reaches x through μ and σ² as well.
 *
 * @param x [..., C] (rank ≥ 2), float32
 * @param scale γ, [C]
 * @param offset β, [C]
 * @throws OpArgumentError ("Error in batchNormTrain: …") for mismatched shapes or a single value per channel
 */
export function batchNormTrain<T extends Tensor>(x: T, scale: tf.Tensor1D, offset: tf.Tensor1D, options: BatchNormTrainOptions = {}): BatchNormTrainResult<T> {
  const epsilon = options.epsilon ?? 1e-5;
  const relu = options.relu ?? false;
  const { residual } = options;
  if (x.rank < 2) throw new OpArgumentError(OP, `x must have rank ≥ 2, but got rank ${x.rank}.`);
  const channels = x.shape[x.rank - 1]!;
  if (scale.size !== channels || offset.size !== channels) {
    throw new OpArgumentError(OP, `scale [${scale.shape.join(', ')}] and offset [${offset.shape.join(', ')}] must hold one value per channel (${channels}).`);
  }
  if (x.size / channels < 2) throw new OpArgumentError(OP, `training needs more than one value per channel, but x is [${x.shape.join(', ')}].`);
  if (residual && !tf.util.arraysEqual(residual.shape, x.shape)) {
    throw new OpArgumentError(OP, `residual [${residual.shape.join(', ')}] must have x's shape [${x.shape.join(', ')}].`);
  }
  if (nativeKernelsActive()) {
    registerGradientOnce();
    const attrs: BatchNormTrainAttrs = { epsilon, relu, residual: residual !== undefined };
    const inputs: tf.NamedTensorMap = residual ? { x, scale, offset, residual } : { x, scale, offset };
    const [y, mean, variance] = tf.engine().runKernel(KernelName.BatchNormTrain, inputs, attrs as unknown as NamedAttrMap) as Tensor[];
    return { y: y as T, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const flat = asRows(x);
  const { mean, variance } = tf.moments(flat, Array.from({ length: flat.rank - 1 }, (_, i) => i));
  const y = batchNormWith(x, mean as tf.Tensor1D, variance as tf.Tensor1D, scale, offset, { epsilon, relu, ...(residual ? { residual } : {}) });
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/** tf.batchNorm takes rank ≤ 4: a 5D (3D-image) batch is normalised as [rows, C], the same sums. */
function asRows(x: Tensor): Tensor {
  return x.rank > 4 ? tf.reshape(x, [-1, x.shape[x.rank - 1]!]) : x;
}

/**
 * Batch normalisation with given statistics (the running ones at inference, the batch's in the
 * composite training path), over the last axis of any rank ≥ 2, then `+ residual`, then ReLU:
 * `act(scale·(x − mean)/√(variance + ε) + offset + residual)`. Stock tfjs ops, differentiable.
 */
export function batchNormWith<T extends Tensor>(x: T, mean: tf.Tensor1D, variance: tf.Tensor1D, scale: tf.Tensor1D, offset: tf.Tensor1D, options: BatchNormTrainOptions = {}): T {
  const flat = asRows(x);
  let y = tf.batchNorm(flat, mean, variance, offset, scale, options.epsilon ?? 1e-5) as Tensor;
  if (flat !== x) y = tf.reshape(y, x.shape);
  if (options.residual) y = tf.add(y, options.residual);
  if (options.relu) y = tf.relu(y);
  return y as T;
}
