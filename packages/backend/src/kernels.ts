import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernels tomosort defines beyond tfjs' own: the fused training ops that the stock kernels can
 * only express as chains of elementwise passes. `@tomosort/native` implements them in oneDNN /
 * C++; on every other backend the op that would call them ({@link batchNormTrain},
 * {@link adamUpdate}) composes stock tfjs ops with the same arithmetic instead.
 */
export const KernelName = {
  /**
   * Batch norm in training mode fused with an optional residual add and ReLU.
   * Inputs {x [..., C], scale [C], offset [C], residual? (x's shape)}; attrs
   * {@link BatchNormTrainAttrs}; outputs [y (x's shape), mean [C], variance [C] (biased)].
   */
  BatchNormTrain: 'TomosortBatchNormTrain',
  /**
   * The gradient of {@link KernelName.BatchNormTrain}. Inputs {dy, x, scale, mean, variance, y};
   * attrs {@link BatchNormTrainAttrs}; outputs [dx, dscale, doffset, dz] where dz = dy·[y > 0]
   * (with ReLU, else dy) is also the residual's gradient.
   */
  BatchNormTrainGrad: 'TomosortBatchNormTrainGrad',
  /**
   * One Adam(W) update. Inputs {variable, m, s, gradient} (one shape); attrs {@link AdamAttrs};
   * outputs [variable, m, s] after the step.
   */
  AdamUpdate: 'TomosortAdamUpdate',
} as const;
export type KernelName = (typeof KernelName)[keyof typeof KernelName];

/** Attributes of {@link KernelName.BatchNormTrain} and its gradient. */
export interface BatchNormTrainAttrs {
  /** Added to the variance before the square root. */
  readonly epsilon: number;
  /** Apply max(0, ·) after the normalisation (and the residual add). */
  readonly relu: boolean;
  /** A residual input is added before the ReLU. */
  readonly residual: boolean;
}

/** Attributes of {@link KernelName.AdamUpdate}: the step's hyper-parameters (t counts from 1). */
export interface AdamAttrs {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly step: number;
  /** Decoupled weight decay (AdamW); 0 for plain Adam. */
  readonly weightDecay: number;
}

/**
 * Whether the active backend runs tomosort's native kernels (`@tomosort/native` installed them):
 * then the stock tfjs kernels of convolutions and pooling are fast too, and the ops here call
 * them directly instead of the forward-conv workarounds other backends need. Told by the filter
 * gradient, which tfjs-wasm lacks and native adds — not by a fused kernel of ours, which another
 * wasm implementation may register too.
 */
export function nativeKernelsActive(): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel('Conv2DBackpropFilter', 'wasm') != null;
}

/**
 * Whether the active backend has one of tomosort's own kernels (native on wasm, or our WGSL on
 * webgpu): then the op that calls it runs it instead of composing stock ops.
 */
export function tomosortKernelActive(name: KernelName): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}
