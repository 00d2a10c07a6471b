import * as tf from '@tensorflow/tfjs-core';
import type { GradSaveFunc, Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { OpArgumentError } from '../errors';
import { nativeKernelsActive } from '../kernels';
import { webGpuKernelActive } from '../webgpu/kernels';

/**
 * Padding of a 2D convolution, as in tfjs:
 * - `'same'`: output size ⌈in / stride⌉, the padding split as TensorFlow does (the odd pixel at the
 *   bottom/right);
 * - `'valid'`: no padding, output size ⌈(in − dilatedFilter + 1) / stride⌉;
 * - a number `p`: `p` zeros on every side (PyTorch's `padding=p`), output ⌊(in + 2p − dilatedFilter) / stride⌋ + 1.
 */
export type Conv2DPad = 'same' | 'valid' | number;

/** A stride or dilation: one number for both axes, or [rows, cols]. */
export type Pair = number | readonly [number, number];

/** Options of {@link conv2d}. */
export interface Conv2DOptions {
  /** 'fast' (default): forward-conv gradient kernels; 'stock': tfjs' Conv2DBackprop* kernels. */
  readonly gradients?: 'fast' | 'stock';
}

/**
 * Everything about a conv's geometry that its gradients need, worked out once from the shapes.
 * `top`/`left` are the zeros added before the first row/column; `spanH`/`spanW` the number of
 * (padded) input rows/columns the conv reads, starting at −top: (out − 1)·stride + dilatedFilter.
 * Rows past the span (possible with `'valid'` and a stride) are never read.
 */
export interface Conv2DGeometry {
  readonly batch: number;
  readonly inH: number;
  readonly inW: number;
  readonly inC: number;
  readonly fh: number;
  readonly fw: number;
  readonly outC: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  /** Dilated filter size: (f − 1)·dilation + 1. */
  readonly effH: number;
  readonly effW: number;
  readonly outH: number;
  readonly outW: number;
  readonly top: number;
  readonly left: number;
  readonly spanH: number;
  readonly spanW: number;
  readonly pad: Conv2DPad;
}

const OP = 'conv2d';

function pair(op: string, name: string, v: Pair): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((n) => Number.isInteger(n) && n > 0)) {
    throw new OpArgumentError(op, `${name} must be positive integers, but got [${p.join(', ')}].`);
  }
  return p;
}

/** Output size and leading pad along one axis, exactly as tfjs' conv_util computes them. */
function axis(pad: Conv2DPad, size: number, stride: number, eff: number): { out: number; before: number } {
  if (pad === 'same') {
    const out = Math.ceil(size / stride);
    const along = Math.max(0, (out - 1) * stride + eff - size);
    return { out, before: Math.floor(along / 2) };
  }
  if (pad === 'valid') return { out: Math.ceil((size - eff + 1) / stride), before: 0 };
  return { out: Math.trunc((size - eff + 2 * pad) / stride + 1), before: pad };
}

/**
 * Validates a conv2d call and returns its geometry. Throws {@link OpArgumentError}
 * ("Error in conv2d: …") for a rank other than 4, a channel mismatch, a non-positive stride or
 * dilation, strides and dilations both above 1, an unknown pad, or an empty output.
 *
 * @param xShape input [batch, height, width, inChannels] (NHWC)
 * @param filterShape [filterHeight, filterWidth, inChannels, outChannels]
 */
export function conv2dGeometry(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: Pair,
  pad: Conv2DPad,
  dilation: Pair = 1,
): Conv2DGeometry {
  if (xShape.length !== 4) throw new OpArgumentError(OP, `input must be rank 4, but got rank ${xShape.length}.`);
  if (filterShape.length !== 4) {
    throw new OpArgumentError(OP, `filter must be rank 4, but got rank ${filterShape.length}.`);
  }
  if (xShape[3] !== filterShape[2]) {
    throw new OpArgumentError(OP, `depth of input (${xShape[3]}) must match input depth for filter ${filterShape[2]}.`);
  }
  return windowGeometry(OP, xShape as Shape4, filterShape as Shape4, strides, pad, dilation);
}

type Shape4 = readonly [number, number, number, number];

/**
 * The geometry of any sliding-window op (conv, pooling) over an NHWC input, as tfjs' conv_util
 * computes it; errors name `op`.
 */
export function windowGeometry(
  op: string,
  xShape: Shape4,
  filterShape: Shape4,
  strides: Pair,
  pad: Conv2DPad,
  dilation: Pair = 1,
): Conv2DGeometry {
  const [batch, inH, inW, inC] = xShape;
  const [fh, fw, , outC] = filterShape;
  const [strideH, strideW] = pair(op, 'strides', strides);
  const [dilationH, dilationW] = pair(op, 'dilations', dilation);
  if ((strideH > 1 || strideW > 1) && (dilationH > 1 || dilationW > 1)) {
    throw new OpArgumentError(
      op,
      `either strides or dilations must be 1, but got strides [${strideH}, ${strideW}] and dilations [${dilationH}, ${dilationW}].`,
    );
  }
  if (!(pad === 'same' || pad === 'valid' || (typeof pad === 'number' && Number.isInteger(pad) && pad >= 0))) {
    throw new OpArgumentError(op, `pad must be 'same', 'valid' or a non-negative integer, but got ${String(pad)}.`);
  }
  const effH = (fh - 1) * dilationH + 1;
  const effW = (fw - 1) * dilationW + 1;
  const rows = axis(pad, inH, strideH, effH);
  const cols = axis(pad, inW, strideW, effW);
  if (rows.out <= 0 || cols.out <= 0 || batch <= 0 || inC <= 0 || outC <= 0) {
    throw new OpArgumentError(
      op,
      `filter ${fh}×${fw} (dilated ${effH}×${effW}) gives an empty output ${rows.out}×${cols.out} on input ` +
        `[${xShape.join(', ')}] with pad ${JSON.stringify(pad)}.`,
    );
  }
  return {
    batch,
    inH,
    inW,
    inC,
    fh,
    fw,
    outC,
    strideH,
    strideW,
    dilationH,
    dilationW,
    effH,
    effW,
    outH: rows.out,
    outW: cols.out,
    top: rows.before,
    left: cols.before,
    spanH: (rows.out - 1) * strideH + effH,
    spanW: (cols.out - 1) * strideW + effW,
    pad,
  };
}

/**
 * Pads with zeros (positive amounts) or crops (negative amounts) axes 1 and 2 of an NHWC
 * tensor. `rows = [before, after]`, `cols = [before, after]`.
 */
export function padOrCrop(t: Tensor4D, rows: readonly [number, number], cols: readonly [number, number]): Tensor4D {
  const [n, h, w, c] = t.shape;
  const cropTop = Math.max(0, -rows[0]);
  const cropBottom = Math.max(0, -rows[1]);
  const cropLeft = Math.max(0, -cols[0]);
  const cropRight = Math.max(0, -cols[1]);
  let out = t;
  if (cropTop + cropBottom + cropLeft + cropRight > 0) {
    out = tf.slice(out, [0, cropTop, cropLeft, 0], [n, h - cropTop - cropBottom, w - cropLeft - cropRight, c]);
  }
  const padTop = Math.max(0, rows[0]);
  const padBottom = Math.max(0, rows[1]);
  const padLeft = Math.max(0, cols[0]);
  const padRight = Math.max(0, cols[1]);
  if (padTop + padBottom + padLeft + padRight > 0) {
    out = tf.pad(out, [
      [0, 0],
      [padTop, padBottom],
      [padLeft, padRight],
      [0, 0],
    ]);
  }
  return out;
}

/**
 * Zeros added by the conv itself instead of a PadV2 pass (explicit padding: the wasm backend's
 * XNNPACK conv pads as it reads): `[[0, 0], rows, cols, [0, 0]]`, or undefined when an amount is
 * negative (a crop), which only {@link padOrCrop} can do.
 */
function explicitPad(rows: readonly [number, number], cols: readonly [number, number]): tf.backend_util.ExplicitPadding | undefined {
  if (Math.min(...rows, ...cols) < 0) return undefined;
  return [
    [0, 0],
    [rows[0], rows[1]],
    [cols[0], cols[1]],
    [0, 0],
  ];
}

/**
 * Gradient of conv2d with respect to its filter, computed as a forward conv.
 *
 * dW[a, b, c, o] = Σ_{n,i,j} xp[n, i·s + a·d, j·s + b·d, c] · dy[n, i, j, o], where xp is x with its
 * padding. Read with the batch axis n as the channel axis to reduce over, that is a conv of
 * xpᵀ = [c, rows, cols, n] (a batch of `inC` images with `batch` channels) by the filter
 * dyᵀ = [i, j, n, o] (size outH × outW), with stride d and dilation s (the roles of the original
 * stride and dilation swap). Its output [c, a, b, o] is transposed to [a, b, c, o].
 * The padded input is cut to exactly the rows the conv reads, so the output is exactly fh × fw.
 *
 * @param x input [batch, inH, inW, inC]
 * @param dy gradient of the conv output [batch, outH, outW, outC]
 * @returns [fh, fw, inC, outC]
 */
export function conv2dBackpropFilter(x: Tensor4D, dy: Tensor4D, g: Conv2DGeometry): Tensor4D {
  return tf.tidy(() => {
    const dyT = tf.transpose(dy, [1, 2, 0, 3]);
    // Rows past the span (never read) are either cut from x first, or, when the conv pads x
    // itself, give extra output rows that are cut from the (filter-sized) result.
    const pad = explicitPad([g.top, Math.max(0, g.spanH - g.inH - g.top)], [g.left, Math.max(0, g.spanW - g.inW - g.left)])!;
    const dwT = tf.conv2d(tf.transpose(x, [3, 1, 2, 0]), dyT, [g.dilationH, g.dilationW], pad, 'NHWC', [g.strideH, g.strideW]);
    const dw = tf.transpose(dwT, [1, 2, 0, 3]);
    return dw.shape[0] === g.fh && dw.shape[1] === g.fw ? dw : tf.slice(dw, [0, 0, 0, 0], [g.fh, g.fw, g.inC, g.outC]);
  });
}

/**
 * A filter rearranged for an input gradient: out[j, l, o, (p·P + q)·inC + c] = w[rows[p][j], cols[q][l], c, o],
 * zero where a map says −1 — the flipped, channel-swapped filter (one phase) or every phase's
 * sub-filter side by side. On the backends that hold values in memory (wasm, cpu) a JavaScript
 * loop over them (tfjs-wasm's Reverse and StridedSlice take ~25 ns a value: 0.25 ms for a
 * 3×3×32×32 filter, ~60 ms for a 3×3×512×512 one; this loop a few); elsewhere (a read would stall
 * a GPU queue) the same maps as two gathers from the filter with a zero row and column appended.
 */
function rearrangedFilter(filter: Tensor4D, rows: readonly (readonly number[])[], cols: readonly (readonly number[])[]): Tensor4D {
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') return gatheredFilter(filter, rows, cols);
  const [, fw, inC, outC] = filter.shape;
  const w = filter.dataSync() as Float32Array;
  const kh = rows[0]!.length;
  const kw = cols[0]!.length;
  const width = rows.length * cols.length * inC;
  const out = new Float32Array(kh * kw * outC * width);
  for (let p = 0; p < rows.length; p++) {
    for (let q = 0; q < cols.length; q++) {
      const slot = (p * cols.length + q) * inC;
      for (let j = 0; j < kh; j++) {
        const a = rows[p]![j]!;
        if (a < 0) continue;
        for (let l = 0; l < kw; l++) {
          const b = cols[q]![l]!;
          if (b < 0) continue;
          const from = (a * fw + b) * inC * outC;
          const to = (j * kw + l) * outC * width + slot;
          for (let c = 0; c < inC; c++) for (let o = 0; o < outC; o++) out[to + o * width + c] = w[from + c * outC + o]!;
        }
      }
    }
  }
  return tf.tensor4d(out, [kh, kw, outC, width]);
}

/** {@link rearrangedFilter} as tensor ops: −1 reads the appended zero row (column). */
function gatheredFilter(filter: Tensor4D, rows: readonly (readonly number[])[], cols: readonly (readonly number[])[]): Tensor4D {
  return tf.tidy(() => {
    const [fh, fw, inC, outC] = filter.shape;
    const [P, kh, Q, kw] = [rows.length, rows[0]!.length, cols.length, cols[0]!.length];
    const index = (maps: readonly (readonly number[])[], zero: number) => tf.tensor1d(maps.flatMap((m) => m.map((a) => (a < 0 ? zero : a))), 'int32');
    const padded = tf.pad(filter, [
      [0, 1],
      [0, 1],
      [0, 0],
      [0, 0],
    ]);
    const taps = tf.gather(tf.gather(padded, index(rows, fh), 0), index(cols, fw), 1); // [P·kh, Q·kw, inC, outC]
    const split = tf.reshape(taps, [P, kh, Q, kw, inC, outC]);
    return tf.reshape(tf.transpose(split, [1, 3, 5, 0, 2, 4]), [kh, kw, outC, P * Q * inC]) as Tensor4D;
  });
}

/** Filter rows (or columns) in flipped order: tap j reads row f − 1 − j. */
const flippedTaps = (f: number): number[][] => [Array.from({ length: f }, (_, j) => f - 1 - j)];

/**
 * Gradient of conv2d with respect to its input.
 *
 * With stride 1 it is a forward conv of dy, padded by (dilatedFilter − 1 − top) before and what
 * remains after, with the filter flipped in both spatial axes and its channel axes swapped
 * (this also covers dilation > 1, which tfjs' Conv2DBackpropInput kernel does not take). With a
 * stride s > 1, s² stride-1 convs, one per output phase (see {@link polyphaseBackpropInput}).
 * Both avoid Conv2DBackpropInput, which on wasm is a plain loop ~10× slower than a forward conv.
 *
 * @param dy gradient of the conv output [batch, outH, outW, outC]
 * @param filter [fh, fw, inC, outC]
 * @returns [batch, inH, inW, inC]
 */
export function conv2dBackpropInput(dy: Tensor4D, filter: Tensor4D, g: Conv2DGeometry): Tensor4D {
  return tf.tidy(() => {
    if (g.strideH === 1 && g.strideW === 1) {
      const before = [g.effH - 1 - g.top, g.effW - 1 - g.left] as const;
      const rows = [before[0], g.inH + g.effH - 1 - g.outH - before[0]] as const;
      const cols = [before[1], g.inW + g.effW - 1 - g.outW - before[1]] as const;
      const flipped = rearrangedFilter(filter, flippedTaps(g.fh), flippedTaps(g.fw));
      const pad = explicitPad(rows, cols);
      return tf.conv2d(pad ? dy : padOrCrop(dy, rows, cols), flipped, 1, pad ?? 'valid', 'NHWC', [g.dilationH, g.dilationW]);
    }
    return phasesAsChannels(dy, filter, g) ?? polyphaseBackpropInput(dy, filter, g);
  });
}

/** One axis of {@link phasesAsChannels}: see there. */
interface PhaseAxis {
  /** Taps per phase. */
  readonly count: number;
  /** dy's padding before and after. */
  readonly pad: readonly [number, number];
  /** Per phase, the filter row each tap reads (−1: a zero tap). */
  readonly taps: readonly (readonly number[])[];
}

function phaseAxis(s: number, f: number, top: number, inSize: number, outSize: number): PhaseAxis | undefined {
  if (inSize % s !== 0) return undefined;
  // Shift the filter by e zero taps so the leading pad T = top + e is whole blocks (q = T/s):
  // then input row u is block q + ⌊u/s⌋, phase u mod s, and dx's rows are whole blocks.
  const e = (s - (top % s)) % s;
  const q = (top + e) / s;
  const taps = Math.ceil((f + e) / s);
  const pad = [taps - 1 - q, inSize / s + q - outSize] as const;
  if (pad[0] < 0 || pad[1] < 0) return undefined;
  // Tap j of phase p is w[p + (taps − 1 − j)·s − e] (the flipped sub-filter, shifted by e zero taps).
  const rowOf = (p: number, j: number) => {
    const a = p + (taps - 1 - j) * s - e;
    return a >= 0 && a < f ? a : -1;
  };
  const tapRows = Array.from({ length: s }, (_, p) => Array.from({ length: taps }, (_, j) => rowOf(p, j)));
  return { count: taps, pad, taps: tapRows };
}

/**
 * Input gradient of a conv with one stride s on both axes (dilation 1) as ONE stride-1 conv:
 * the s² output phases of {@link polyphaseBackpropInput} become s²·inC output channels (each
 * phase's sub-filter, zero taps where a phase has fewer), and one transpose interleaves them. A
 * leading pad that is not whole blocks shifts the filter by zero taps instead of cropping dx.
 * Undefined where this does not fit (unequal strides, a size not a multiple of s, a pad that
 * would be negative): the per-phase convs then.
 */
function phasesAsChannels(dy: Tensor4D, filter: Tensor4D, g: Conv2DGeometry): Tensor4D | undefined {
  const s = g.strideH;
  if (g.strideW !== s || g.dilationH !== 1 || g.dilationW !== 1) return undefined;
  const rows = phaseAxis(s, g.fh, g.top, g.inH, g.outH);
  const cols = phaseAxis(s, g.fw, g.left, g.inW, g.outW);
  if (!rows || !cols) return undefined;
  // Channel (ph·s + pw)·inC + c of block (m, n) is dx row m·s + ph, column n·s + pw: moving the
  // ph axis next to m interleaves them (tf.depthToSpace does the same, ~14× slower on wasm).
  const blocks = tf.conv2d(dy, rearrangedFilter(filter, rows.taps, cols.taps), 1, explicitPad(rows.pad, cols.pad)!);
  const [n, mH, mW] = blocks.shape;
  const interleaved = tf.transpose(tf.reshape(blocks, [n * mH, mW, s, s * g.inC]), [0, 2, 1, 3]);
  return tf.reshape(interleaved, [n, mH * s, mW * s, g.inC]);
}

/**
 * Input gradient of a strided conv (dilation 1) as stride·stride stride-1 convs, one per output
 * phase. In padded input coordinates u = h + top, input row u is read by output row i through
 * filter row a exactly when u = i·s + a. Split a = p + k·s by its phase p = u mod s: then
 * u = (i + k)·s + p, so the rows of phase p are the full 1D convolution
 * out_p[m] = Σ_k dy[m − k] · w[p + k·s]   (m = ⌊u / s⌋)
 * of dy with the sub-filter w[p::s]: a valid correlation of dy, padded by (taps − 1) on both sides,
 * with that sub-filter flipped. Interleaving the phases (stack + reshape) and cutting [top, top + inH)
 * gives dx. Same arithmetic as Conv2DBackpropInput, on the fast forward-conv kernel.
 */
function polyphaseBackpropInput(dy: Tensor4D, filter: Tensor4D, g: Conv2DGeometry): Tensor4D {
  const sH = g.strideH;
  const sW = g.strideW;
  const mH = Math.ceil((g.top + g.inH) / sH);
  const mW = Math.ceil((g.left + g.inW) / sW);
  const rowsPhases: Tensor[] = [];
  for (let ph = 0; ph < sH; ph++) {
    const colsPhases: Tensor[] = [];
    for (let pw = 0; pw < sW; pw++) {
      const kh = Math.ceil((g.fh - ph) / sH);
      const kw = Math.ceil((g.fw - pw) / sW);
      if (kh <= 0 || kw <= 0) {
        colsPhases.push(tf.zeros([g.batch, mH, mW, g.inC]));
        continue;
      }
      // The flipped sub-filter: tap j is filter row ph + (kh − 1 − j)·sH (k descending).
      const taps = (p: number, k: number, step: number) => [Array.from({ length: k }, (_, j) => p + (k - 1 - j) * step)];
      const sub = rearrangedFilter(filter, taps(ph, kh, sH), taps(pw, kw, sW));
      const dyp = padOrCrop(dy, [kh - 1, kh - 1], [kw - 1, kw - 1]);
      const full = tf.conv2d(dyp, sub, 1, 'valid');
      // full has outH + kh − 1 rows (m = 0 …); keep m ∈ [0, mH).
      colsPhases.push(padOrCrop(full, [0, mH - (g.outH + kh - 1)], [0, mW - (g.outW + kw - 1)]));
    }
    rowsPhases.push(tf.stack(colsPhases, 3)); // [n, mH, mW, sW, c]
  }
  const inter = tf.stack(rowsPhases, 2); // [n, mH, sH, mW, sW, c]
  const u = tf.reshape(inter, [g.batch, mH * sH, mW * sW, g.inC]) as Tensor4D;
  return tf.slice(u, [0, g.top, g.left, 0], [g.batch, g.inH, g.inW, g.inC]);
}

/**
 * 2D convolution (NHWC) whose gradients run on fast forward-conv kernels on every backend.
 *
 * The forward pass is `tf.conv2d`. The backward pass (via `tf.customGrad`) never calls the
 * Conv2DBackpropFilter kernel, which the wasm backend lacks and the cpu backend implements as a
 * slow loop: the filter gradient is a forward conv over transposed tensors (see
 * {@link conv2dBackpropFilter}); the input gradient is a forward conv of the flipped filter at
 * stride 1, or s² such convs (one per phase) at stride s (see {@link conv2dBackpropInput}).
 * Gradients match tfjs' own within float32 rounding (the tests check 1e-4).
 *
 * @param x input [batch, height, width, inChannels], float32
 * @param filter [filterHeight, filterWidth, inChannels, outChannels], float32
 * @param strides one stride for both axes, or [rows, cols]
 * @param pad 'same', 'valid' or a symmetric number of zeros (see {@link Conv2DPad})
 * @param dilation atrous rate, default 1; strides and dilation cannot both exceed 1
 * @param options.gradients 'fast' (default) as above; 'stock' uses tfjs' own gradient kernels —
 *   only for benchmarks that measure what the fast path saves
 * @returns [batch, outHeight, outWidth, outChannels]
 * @throws OpArgumentError ("Error in conv2d: …") for shapes or settings conv2d cannot take
 */
export function conv2d(
  x: Tensor4D,
  filter: Tensor4D,
  strides: Pair,
  pad: Conv2DPad,
  dilation: Pair = 1,
  options: Conv2DOptions = {},
): Tensor4D {
  const g = conv2dGeometry(x.shape, filter.shape, strides, pad, dilation);
  if (x.dtype !== 'float32') throw new OpArgumentError(OP, `input must be float32, but got ${x.dtype}.`);
  if (filter.dtype !== 'float32') throw new OpArgumentError(OP, `filter must be float32, but got ${filter.dtype}.`);
  // Native kernels, and our WGSL ones on webgpu, make tfjs' Conv2DBackprop* kernels fast (with
  // one of our two webgpu groups switched off, tfjs' own kernel runs in its place: the benchmark's
  // ablation); tfjs' gradient refuses dilation > 1.
  const fastKernels = nativeKernelsActive() || webGpuKernelActive('conv2dBackpropFilter') || webGpuKernelActive('conv2dBackpropInput');
  const stock = options.gradients === 'stock' || (fastKernels && g.dilationH === 1 && g.dilationW === 1);
  if (stock) return tf.conv2d(x, filter, [g.strideH, g.strideW], g.pad, 'NHWC', [g.dilationH, g.dilationW]);
  const op = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [xi, wi, save] = args as [Tensor4D, Tensor4D, GradSaveFunc];
    save([xi, wi]);
    const value = tf.conv2d(xi, wi, [g.strideH, g.strideW], g.pad, 'NHWC', [g.dilationH, g.dilationW]);
    const gradFunc = (dy: Tensor4D, saved: Tensor[]): Tensor[] => {
      const [xs, ws] = saved as [Tensor4D, Tensor4D];
      return [conv2dBackpropInput(dy, ws, g), conv2dBackpropFilter(xs, dy, g)];
    };
    return { value, gradFunc };
  });
  return op(x, filter);
}
