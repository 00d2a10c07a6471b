import * as tf from '@tensorflow/tfjs-core';
import type { GradSaveFunc, Tensor, Tensor3D, Tensor5D } from '@tensorflow/tfjs-core';
import { OpArgumentError } from '../errors';
import { nativeKernelsActive } from '../kernels';
import { webGpuKernelActive } from '../webgpu/kernels';

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

/**
 * tfjs-backend-webgpu 4.22 cannot run most ops above rank 4 (its WGSL indexes a `vec5` / `vec6`
 * that has no index; Reverse of rank 5 fails to reshape: ops.webgpu.test.ts). So the 3D
 * gradients below move data with ops of rank ≤ 4 only: a spatial axis of [N, D, H, W, C] is
 * worked on as the middle axis of a [before, n, after] view.
 */
type Shape5D = [number, number, number, number, number];

function alongAxis(t: Tensor5D, axis: 1 | 2 | 3, f: (view: Tensor3D) => Tensor3D): Tensor5D {
  const before = t.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const after = t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = f(tf.reshape(t, [before, t.shape[axis]!, after]));
  return tf.reshape(out, t.shape.map((d, i) => (i === axis ? out.shape[1] : d)) as Shape5D) as Tensor5D;
}

/** `t` [N, D, H, W, C] with (s − 1) zeros between neighbours along each spatial axis (s per axis). */
function dilate(t: Tensor5D, strides: Stride3D): Tensor5D {
  let out = t;
  for (const axis of [1, 2, 3] as const) {
    const s = triple(strides)[axis - 1]!;
    if (s === 1) continue;
    out = alongAxis(out, axis, (v) => {
      const [b, n, a] = v.shape;
      const spread = tf.reshape(tf.pad(tf.reshape(v, [b, n, 1, a]), [[0, 0], [0, 0], [0, s - 1], [0, 0]]), [b, n * s, a]);
      return tf.slice(spread, [0, 0, 0], [b, (n - 1) * s + 1, a]) as Tensor3D;
    });
  }
  return out;
}

/** [A, B, C, D, E] → the same values with the axes regrouped as `groups` (sizes multiplied), transposed by `perm`, then split to `shape`. */
function transposeGrouped(t: Tensor5D, groups: readonly number[], perm: readonly number[], shape: Shape5D): Tensor5D {
  return tf.reshape(tf.transpose(tf.reshape(t, groups as number[]), perm as number[]), shape);
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
    const [fd, fh, fw, ci, co] = filter.shape;
    // Flipped in its three spatial axes, input and output channels swapped (rank ≤ 4 ops).
    const reversed = tf.reverse(tf.reshape(filter, [fd, fh, fw, ci * co]), [0, 1, 2]);
    const flipped = tf.reshape(tf.transpose(tf.reshape(reversed, [fd * fh * fw, ci, co]), [0, 2, 1]), [fd, fh, fw, co, ci]) as Tensor5D;
    return forwardConv3d(padded, flipped, 1, 'valid');
  });
}

/** Pads (positive) or crops (negative) the three spatial axes of `t` by [before, after] each. */
function padOrCrop3d(t: Tensor5D, pads: readonly (readonly [number, number])[]): Tensor5D {
  let out = t;
  for (const axis of [1, 2, 3] as const) {
    const [f, b] = pads[axis - 1]!;
    if (f === 0 && b === 0) continue;
    out = alongAxis(out, axis, (v) => {
      const cropped = tf.slice(v, [0, Math.max(0, -f), 0], [-1, v.shape[1] - Math.max(0, -f) - Math.max(0, -b), -1]);
      return tf.pad(cropped, [[0, 0], [Math.max(0, f), Math.max(0, b)], [0, 0]]) as Tensor3D;
    });
  }
  return out;
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
    const [n, d, h, w, c] = xp.shape;
    const [, p, q, r, o] = dy.shape;
    // xᵀ = transpose [4, 1, 2, 3, 0], dyᵀ and dW back = [1, 2, 3, 0, 4], as rank-3 transposes.
    const xT = transposeGrouped(xp, [n, d * h * w, c], [2, 1, 0], [c, d, h, w, n]);
    const dyT = transposeGrouped(dy, [n, p * q * r, o], [1, 0, 2], [p, q, r, n, o]);
    const dwT = forwardConv3d(xT, dyT, 1, 'valid', st);
    const [, a, b, cc] = dwT.shape;
    return transposeGrouped(dwT, [c, a * b * cc, o], [1, 0, 2], [a, b, cc, c, o]);
  });
}

/**
 * `tf.conv3d` (NDHWC, tfjs' geometry) as a sum over the filter's depth taps of 2D convs, each over
 * the batch's depth slices seen as a batch of images: y[·, e] = Σ_dz conv2d(xp[·, e·sD + dz·dD], w[dz]).
 * tfjs-backend-wasm 4.22's Conv3D is a plain loop (~0.4 GFLOP/s here: 17 of a 17.5 s 3D U-Net
 * step at 2 crops of 16 × 64²), its Conv2D XNNPACK's. Depth is padded (or cut) so every tap's
 * slices exist and the slices of one tap are every sD-th: a slice of a [N, D/sD, sD, H·W·C] view.
 */
function conv3dBySlices(x: Tensor5D, w: Tensor5D, strides: readonly [number, number, number], pad: Pad3D, dilations: readonly [number, number, number] = [1, 1, 1]): Tensor5D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv3DInfo(x.shape, w.shape, [...strides], [...dilations], pad as 'same');
    const { batchSize: n, inChannels: c, outDepth, outHeight, outWidth, outChannels: o, filterDepth: fd, filterHeight: fh, filterWidth: fw, padInfo } = info;
    const [sD, sH, sW] = strides;
    const [dD, dH, dW] = dilations;
    const read = (outDepth - 1) * sD + (fd - 1) * dD + 1;
    const rows = Math.ceil(read / sD) * sD;
    const xp = padOrCrop3d(x, [[padInfo.front, rows - x.shape[1] - padInfo.front], [0, 0], [0, 0]]);
    const [, , h, wd] = xp.shape;
    const view = tf.reshape(xp, [n, rows / sD, sD, h * wd * c]);
    const taps = tf.reshape(w, [fd, fh * fw * c * o]);
    const spatial: tf.backend_util.ExplicitPadding = [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]];
    let sum: tf.Tensor4D | undefined;
    for (let dz = 0; dz < fd; dz++) {
      const start = dz * dD;
      const slab = tf.reshape(tf.slice(view, [0, Math.floor(start / sD), start % sD, 0], [n, outDepth, 1, h * wd * c]), [n * outDepth, h, wd, c]) as tf.Tensor4D;
      const filter = tf.reshape(tf.slice(taps, [dz, 0], [1, -1]), [fh, fw, c, o]) as tf.Tensor4D;
      const y = tf.conv2d(slab, filter, [sH, sW], spatial, 'NHWC', [dH, dW]);
      sum = sum ? tf.add<tf.Tensor4D>(sum, y) : y;
    }
    return tf.reshape(sum!, [n, outDepth, outHeight, outWidth, o]) as Tensor5D;
  });
}

/** The forward conv3d the gradients below run: by slices on plain tfjs-wasm (its Conv3D is a loop), else tf.conv3d. */
function forwardConv3d(x: Tensor5D, w: Tensor5D, strides: Stride3D, pad: Pad3D, dilations: Stride3D = 1): Tensor5D {
  if (tf.getBackend() === 'wasm' && !nativeKernelsActive()) return conv3dBySlices(x, w, triple(strides), pad, triple(dilations));
  // @ts-expect-error tfjs types pad as 'same' | 'valid'; its Conv3D geometry (get3DPadAndOutInfo) takes a number
  return tf.conv3d(x, w, triple(strides), pad, 'NDHWC', triple(dilations));
}

/**
 * 3D convolution, NDHWC: x `[N, D, H, W, inC]` ⊛ filter `[fd, fh, fw, inC, outC]` →
 * `[N, D', H', W', outC]`, with a numeric symmetric pad allowed (tfjs' conv geometry takes one
 * though its typings do not). Where native kernels run, or our WGSL kernels on webgpu, `tf.conv3d`
 * with tfjs' gradients (oneDNN; implicit GEMMs); elsewhere both gradients are forward convs ({@link conv3dBackpropInput},
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
  const forward = (a: Tensor5D, w: Tensor5D): Tensor5D => forwardConv3d(a, w, strides, pad);
  // tfjs' gradient kernels are right and fast natively, and on webgpu with ours (WGSL implicit GEMMs).
  // @ts-expect-error tfjs types pad as 'same' | 'valid'; its Conv3D geometry (get3DPadAndOutInfo) takes a number
  if (nativeKernelsActive() || webGpuKernelActive('conv3d')) return tf.conv3d(x, filter, triple(strides), pad);
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
