import type * as tf from '@tensorflow/tfjs-core';
import { conv2d as backendConv2d } from '@tomosort/backend';

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
