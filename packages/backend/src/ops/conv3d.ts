import * as tf from '@tensorflow/tfjs-core';
import type { Tensor5D } from '@tensorflow/tfjs-core';
import { OpArgumentError } from '../errors';

/** Padding of a 3D window op: tfjs' 'same' / 'valid', or p zeros on every side (PyTorch's `padding=p`). */
export type Pad3D = 'same' | 'valid' | number;

function validPad(op: string, pad: Pad3D): void {
  if (!(pad === 'same' || pad === 'valid' || (typeof pad === 'number' && Number.isInteger(pad) && pad >= 0))) {
    throw new OpArgumentError(op, `pad must be 'same', 'valid' or a non-negative integer, but got ${String(pad)}.`);
  }
}

/**
 * 3D convolution, NDHWC: x `[N, D, H, W, inC]` ⊛ filter `[fd, fh, fw, inC, outC]` →
 * `[N, D', H', W', outC]`. `tf.conv3d` with tfjs' own gradients (Conv3DBackpropInputV2 /
 * FilterV2: naive loops on cpu and wasm, oneDNN where native kernels run), plus a numeric
 * symmetric pad, which tfjs' conv geometry supports though its typings do not.
 *
 * @throws OpArgumentError ("Error in conv3d: …") for a rank other than 5, a channel mismatch or a bad pad
 */
export function conv3d(x: Tensor5D, filter: Tensor5D, strides: number, pad: Pad3D): Tensor5D {
  const op = 'conv3d';
  if (x.rank !== 5) throw new OpArgumentError(op, `input must be rank 5, but got rank ${x.rank}.`);
  if (filter.rank !== 5) throw new OpArgumentError(op, `filter must be rank 5, but got rank ${filter.rank}.`);
  if (x.shape[4] !== filter.shape[3]) throw new OpArgumentError(op, `depth of input (${x.shape[4]}) must match input depth for filter ${filter.shape[3]}.`);
  if (!(Number.isInteger(strides) && strides > 0)) throw new OpArgumentError(op, `strides must be a positive integer, but got ${strides}.`);
  validPad(op, pad);
  // @ts-expect-error tfjs types pad as 'same' | 'valid'; its Conv3D geometry (get3DPadAndOutInfo) takes a number
  return tf.conv3d(x, filter, strides, pad);
}

/**
 * 3D max pooling, NDHWC, with a numeric symmetric pad allowed (padding never wins). Gradient:
 * tfjs' MaxPool3DGrad (native kernels: first maximum of each window, as tfjs' cpu backend).
 *
 * @throws OpArgumentError ("Error in maxPool3d: …")
 */
export function maxPool3d(x: Tensor5D, filterSize: number, strides: number, pad: Pad3D): Tensor5D {
  const op = 'maxPool3d';
  if (x.rank !== 5) throw new OpArgumentError(op, `x must be rank 5, but got rank ${x.rank}.`);
  validPad(op, pad);
  return tf.maxPool3d(x, filterSize, strides, pad as 'same');
}
