import * as tf from '@tensorflow/tfjs-core';
import type { GradSaveFunc, Tensor, Tensor5D } from '@tensorflow/tfjs-core';
import { OpArgumentError } from '../errors';
import { nativeKernelsActive } from '../kernels';

/** Padding of a 3D window op: tfjs' 'same' / 'valid', or p zeros on every side (PyTorch's `padding=p`). */
export type Pad3D = 'same' | 'valid' | number;

function validPad(op: string, pad: Pad3D): void {
  if (!(pad === 'same' || pad === 'valid' || (typeof pad === 'number' && Number.isInteger(pad) && pad >= 0))) {
    throw new OpArgumentError(op, `pad must be 'same', 'valid' or a non-negative integer, but got ${String(pad)}.`);
  }
}

/** Padding before each spatial axis of a conv3d as tfjs computes it (numeric p: p; 'same': ⌊total / 2⌋; 'valid': 0). */
/** A 3D stride: one for every axis, or [depth, height, width]. */
export type Stride3D = number | readonly [number, number, number];
const triple = (s: Stride3D): [number, number, number] => (typeof s === 'number' ? [s, s, s] : [s[0], s[1], s[2]]);

function padsBefore(xShape: readonly number[], k: readonly number[], strides: Stride3D, pad: Pad3D, outShape: readonly number[]): number[] {
  const st = triple(strides);
  return [0, 1, 2].map((a) => {
    if (typeof pad === 'number') return pad;
    if (pad === 'valid') return 0;
    const total = Math.max((outShape[a + 1]! - 1) * st[a]! + k[a]! - xShape[a + 1]!, 0);
    return Math.floor(total / 2);
  });
}

/** `t` [N, D, H, W, C] with (s − 1) zeros between neighbours along each spatial axis (s per axis). */
function dilate(t: Tensor5D, strides: Stride3D): Tensor5D {
  let out: Tensor = t;
  for (const axis of [1, 2, 3]) {
    const s = triple(strides)[axis - 1]!;
    if (s === 1) continue;
    const shape = out.shape;
    const n = shape[axis]!;
    const expanded = tf.expandDims(out, axis + 1);
    const spread = tf.pad(expanded, expanded.shape.map((_, i) => (i === axis + 1 ? [0, s - 1] : [0, 0])) as [number, number][]);
    const merged = tf.reshape(spread, shape.map((d, i) => (i === axis ? d * s : d)));
    out = tf.slice(merged, shape.map(() => 0), shape.map((d, i) => (i === axis ? (n - 1) * s + 1 : d)));
  }
  return out as Tensor5D;
}

/**
 * Gradient of conv3d with respect to its input, as a forward conv: dy dilated by the stride,
 * padded by (k − 1 − before) in front and what makes the input's size behind, convolved (stride 1)
 * with the filter flipped in its three spatial axes and its channel axes swapped. tfjs-backend-wasm
 * 4.22's Conv3DBackpropInputV2 is wrong whenever the filter has more than one output channel
 * (measured: backend tests), so no backend but the native one uses it.
 */
export function conv3dBackpropInput(dy: Tensor5D, filter: Tensor5D, xShape: readonly number[], stride: Stride3D, pad: Pad3D): Tensor5D {
  return tf.tidy(() => {
    const k = filter.shape.slice(0, 3);
    const before = padsBefore(xShape, k, stride, pad, dy.shape);
    const d = dilate(dy, stride);
    const pads = [0, 1, 2].map((a) => {
      const front = k[a]! - 1 - before[a]!;
      return [front, xShape[a + 1]! + k[a]! - 1 - d.shape[a + 1]! - front] as const;
    });
    // Negative amounts crop (a pad larger than k − 1, or rows the forward conv never read).
    const padded = padOrCrop3d(d, pads);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1, 2]), [0, 1, 2, 4, 3]) as Tensor5D;
    return tf.conv3d(padded, flipped, 1, 'valid');
  });
}

/** Pads (positive) or crops (negative) the three spatial axes of `t` by [before, after] each. */
function padOrCrop3d(t: Tensor5D, pads: readonly (readonly [number, number])[]): Tensor5D {
  const crop = tf.slice(t, [0, ...pads.map(([f]) => Math.max(0, -f)), 0], [-1, ...pads.map(([f, b], a) => t.shape[a + 1]! - Math.max(0, -f) - Math.max(0, -b)), -1]);
  return tf.pad(crop, [[0, 0], ...pads.map(([f, b]) => [Math.max(0, f), Math.max(0, b)] as [number, number]), [0, 0]]) as Tensor5D;
}

/**
 * Gradient of conv3d with respect to its filter, as a forward conv (the 3D form of
 * conv2dBackpropFilter): dW[a, b, c, i, o] = Σ xp[n, p·s + a, q·s + b, r·s + c, i] · dy[n, p, q, r, o]
 * is a conv of xpᵀ [i, D, H, W, n] by dyᵀ [p, q, r, n, o] with dilation s and stride 1, transposed
 * back. tfjs-backend-wasm 4.22's Conv3DBackpropFilterV2 is wrong at strides above 1.
 */
export function conv3dBackpropFilter(x: Tensor5D, dy: Tensor5D, filterShape: readonly number[], stride: Stride3D, pad: Pad3D): Tensor5D {
  const st = triple(stride);
  return tf.tidy(() => {
    const k = filterShape.slice(0, 3);
    const before = padsBefore(x.shape, k, stride, pad, dy.shape);
    const xp = padOrCrop3d(x, [0, 1, 2].map((a) => [before[a]!, (dy.shape[a + 1]! - 1) * st[a]! + k[a]! - x.shape[a + 1]! - before[a]!] as const));
    const xT = tf.transpose(xp, [4, 1, 2, 3, 0]) as Tensor5D;
    const dyT = tf.transpose(dy, [1, 2, 3, 0, 4]) as Tensor5D;
    const dwT = tf.conv3d(xT, dyT, 1, 'valid', 'NDHWC', st);
    return tf.transpose(dwT, [1, 2, 3, 0, 4]) as Tensor5D;
  });
}

/**
 * 3D convolution, NDHWC: x `[N, D, H, W, inC]` ⊛ filter `[fd, fh, fw, inC, outC]` →
 * `[N, D', H', W', outC]`, with a numeric symmetric pad allowed (tfjs' conv geometry takes one
 * though its typings do not). Where native kernels run, `tf.conv3d` with tfjs' gradients (oneDNN);
 * elsewhere both gradients are forward convs ({@link conv3dBackpropInput},
 * {@link conv3dBackpropFilter}), because tfjs-backend-wasm's own are wrong.
 *
 * @throws OpArgumentError ("Error in conv3d: …") for a rank other than 5, a channel mismatch or a bad pad
 */
export function conv3d(x: Tensor5D, filter: Tensor5D, strides: Stride3D, pad: Pad3D): Tensor5D {
  const op = 'conv3d';
  if (x.rank !== 5) throw new OpArgumentError(op, `input must be rank 5, but got rank ${x.rank}.`);
  if (filter.rank !== 5) throw new OpArgumentError(op, `filter must be rank 5, but got rank ${filter.rank}.`);
  if (x.shape[4] !== filter.shape[3]) throw new OpArgumentError(op, `depth of input (${x.shape[4]}) must match input depth for filter ${filter.shape[3]}.`);
  if (!triple(strides).every((v) => Number.isInteger(v) && v > 0)) throw new OpArgumentError(op, `strides must be positive integers, but got ${String(strides)}.`);
  validPad(op, pad);
  // @ts-expect-error tfjs types pad as 'same' | 'valid'; its Conv3D geometry (get3DPadAndOutInfo) takes a number
  const forward = (a: Tensor5D, w: Tensor5D): Tensor5D => tf.conv3d(a, w, triple(strides), pad);
  if (nativeKernelsActive()) return forward(x, filter);
  const custom = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [xi, wi, save] = args as [Tensor5D, Tensor5D, GradSaveFunc];
    save([xi, wi]);
    const gradFunc = (dy: Tensor5D, saved: Tensor[]): Tensor[] => {
      const [xs, ws] = saved as [Tensor5D, Tensor5D];
      return [conv3dBackpropInput(dy, ws, xs.shape, strides, pad), conv3dBackpropFilter(xs, dy, ws.shape, strides, pad)];
    };
    return { value: forward(xi, wi), gradFunc };
  });
  return custom(x, filter) as Tensor5D;
}

/**
 * 3D max pooling, NDHWC, with a numeric symmetric pad allowed (padding never wins). Gradient:
 * tfjs' MaxPool3DGrad (native kernels: first maximum of each window, as tfjs' cpu backend).
 *
 * @throws OpArgumentError ("Error in maxPool3d: …")
 */
export function maxPool3d(x: Tensor5D, filterSize: Stride3D, strides: Stride3D, pad: Pad3D): Tensor5D {
  const op = 'maxPool3d';
  if (x.rank !== 5) throw new OpArgumentError(op, `x must be rank 5, but got rank ${x.rank}.`);
  validPad(op, pad);
  return tf.maxPool3d(x, triple(filterSize), triple(strides), pad as 'same');
}
