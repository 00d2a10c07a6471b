import type * as tf from '@tensorflow/tfjs-core';

/**
 * What the loop needs of a network: named variables and a forward pass from slices
 * `[N, S, S, 1]` to one row per slice `[N, D]` (D = 1 for a slice score) or, for a U-Net,
 * class logits `[N, S, S, C]`.
 */
export interface TrainableModel {
  /** Variables the optimiser updates. */
  readonly trainable: Readonly<Record<string, tf.Variable>>;
  /** Every variable to checkpoint: trainable ones and batch-norm running statistics. */
  readonly state: Readonly<Record<string, tf.Variable>>;
  /** Slices `[N, S, S, 1]`, or cubes `[N, D, H, W, 1]` for a 3D encoder. */
  apply(x: tf.Tensor4D | tf.Tensor5D, training: boolean): tf.Tensor;
}
