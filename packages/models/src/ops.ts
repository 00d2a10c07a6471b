import type * as tf from '@tensorflow/tfjs-core';
import { conv2d as backendConv2d, maxPool as backendMaxPool } from '@tomosort/backend';

/**
 * The one convolution every layer of this package calls: x `[N, H, W, inC]` (NHWC) ⊛ filter
 * `[fh, fw, inC, outC]` → `[N, H', W', outC]`, the semantics of `tf.conv2d`; `pad` a number p means
 * p zeros on every side (PyTorch's `padding=p`).
 *
 * It is `conv2d` from `@tomosort/backend`: same forward pass as `tf.conv2d`, gradients computed
 * with forward-conv kernels (the wasm backend has no Conv2DBackpropFilter, the cpu backend's is a
 * naive loop). Swapping the implementation for every layer happens here and nowhere else.
 */
export function conv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: number | [number, number],
  pad: 'same' | 'valid' | number,
  dilation = 1,
  gradients: 'fast' | 'stock' = 'fast',
): tf.Tensor4D {
  return backendConv2d(x, filter, strides, pad, dilation, { gradients });
}

/**
 * Max pooling (NHWC) with `pad` pixels on every side, the semantics of PyTorch's MaxPool2d. It is
 * `maxPool` from `@tomosort/backend`, whose gradient is right on wasm (the wasm MaxPoolGrad
 * kernel misroutes windows whose maximum is ≤ 0 and ties).
 */
export function maxPool(x: tf.Tensor4D, size: number, stride: number, pad: number): tf.Tensor4D {
  return backendMaxPool(x, size, stride, pad);
}
