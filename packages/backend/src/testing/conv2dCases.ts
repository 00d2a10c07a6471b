import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { conv2d, conv2dGeometry } from '../ops/conv2d';
import type { Conv2DPad, Pair } from '../ops/conv2d';

/** One conv2d setting of the gradient tables (shared by the cpu, wasm and webgpu tests). */
export interface ConvCase {
  readonly x: readonly [number, number, number, number];
  readonly f: readonly [number, number, number, number];
  readonly strides: Pair;
  readonly pad: Conv2DPad;
  readonly dilation?: Pair;
  /** What the case is there for. */
  readonly why: string;
}

const fmt = (p: Pair): string => (typeof p === 'number' ? String(p) : `[${p.join(',')}]`);

/** "x=[2,7,7,3] f=[3,3,3,4] s=2 same d=2 (why)". */
export function caseName(c: ConvCase): string {
  const d = c.dilation !== undefined && c.dilation !== 1 ? ` d=${fmt(c.dilation)}` : '';
  return `x=[${c.x.join(',')}] f=[${c.f.join(',')}] s=${fmt(c.strides)} ${typeof c.pad === 'number' ? `pad=${c.pad}` : c.pad}${d} (${c.why})`;
}

export const CONV_CASES: readonly ConvCase[] = [
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same', why: '3×3 stride 1' },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], strides: 2, pad: 'same', why: 'even size: pads 0 before, 1 after' },
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], strides: 2, pad: 'same', why: 'odd size: pads 1 and 1' },
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], strides: 2, pad: 'valid', why: 'valid, every row read' },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], strides: 2, pad: 'valid', why: 'valid, last row never read' },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], strides: 2, pad: 1, why: 'PyTorch padding 1 (the strided 3×3 of the encoders): one zero tap shifts the filter' },
  { x: [2, 7, 7, 3], f: [1, 1, 3, 4], strides: 2, pad: 'same', why: '1×1 projection shortcut' },
  { x: [2, 8, 8, 3], f: [1, 1, 3, 5], strides: 2, pad: 'valid', why: '1×1, a phase with no filter taps' },
  { x: [2, 16, 16, 1], f: [7, 7, 1, 8], strides: 2, pad: 'same', why: 'ResNet stem, pads 2 and 3' },
  { x: [2, 15, 15, 1], f: [7, 7, 1, 8], strides: 2, pad: 'same', why: 'ResNet stem, odd size' },
  { x: [2, 16, 16, 1], f: [7, 7, 1, 8], strides: 2, pad: 3, why: 'ResNet stem, PyTorch padding 3' },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same', dilation: 2, why: 'dilation 2' },
  { x: [2, 9, 8, 3], f: [3, 3, 3, 4], strides: 1, pad: 'valid', dilation: [2, 1], why: 'dilation [2,1], valid' },
  { x: [1, 9, 8, 2], f: [3, 2, 2, 3], strides: [2, 1], pad: 'same', why: 'non-square filter and strides' },
  { x: [1, 10, 10, 2], f: [5, 5, 2, 3], strides: 3, pad: 'same', why: 'stride 3: nine phases' },
];

/** Deterministic N(0, 1) floats (mulberry32 + Box–Muller), the same on every backend. */
export function randomNormal(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Input, filter and the random weights r of the test loss L = Σ conv(x, w) · r for a case. */
export interface CaseData {
  readonly x: Float32Array;
  readonly w: Float32Array;
  readonly r: Float32Array;
  readonly yShape: readonly number[];
}

export function caseData(c: ConvCase, seed = 1): CaseData {
  const g = conv2dGeometry(c.x, c.f, c.strides, c.pad, c.dilation ?? 1);
  const yShape = [g.batch, g.outH, g.outW, g.outC];
  return { x: randomNormal(size(c.x), seed), w: randomNormal(size(c.f), seed + 1), r: randomNormal(size(yShape), seed + 2), yShape };
}

/** Zero-inserted copy of a filter, differentiable: [fh, fw, c, o] → [(fh−1)·dh+1, (fw−1)·dw+1, c, o]. */
function dilateFilter(w: Tensor4D, [dh, dw]: readonly [number, number]): Tensor4D {
  const [fh, fw, c, o] = w.shape;
  const spread = tf.pad(tf.reshape(w, [fh, 1, fw, 1, c, o]), [
    [0, 0],
    [0, dh - 1],
    [0, 0],
    [0, dw - 1],
    [0, 0],
    [0, 0],
  ]);
  return tf.slice(tf.reshape(spread, [fh * dh, fw * dw, c, o]), [0, 0, 0, 0], [(fh - 1) * dh + 1, (fw - 1) * dw + 1, c, o]) as Tensor4D;
}

/** Forward output and gradients of L = Σ conv(x, w) · r w.r.t. x and w, read back with `await data()`. */
export interface CaseGrads {
  readonly y: Float32Array;
  readonly dx: Float32Array;
  readonly dw: Float32Array;
}

async function read(ts: Tensor[]): Promise<CaseGrads> {
  const [y, dx, dw] = (await Promise.all(ts.map((t) => t.data()))) as [Float32Array, Float32Array, Float32Array];
  for (const t of ts) t.dispose();
  return { y, dx, dw };
}

/**
 * tfjs' own gradients (Conv2DBackpropInput / Conv2DBackpropFilter through tf.grads over tf.conv2d)
 * on the current backend. tfjs has no gradient for dilation > 1, so there the reference convolves
 * with the explicitly zero-inserted filter.
 */
export function stockGrads(c: ConvCase, d: CaseData): Promise<CaseGrads> {
  const dil: [number, number] = typeof c.dilation === 'number' || c.dilation === undefined ? [c.dilation ?? 1, c.dilation ?? 1] : [c.dilation[0], c.dilation[1]];
  const ts = tf.tidy(() => {
    const x = tf.tensor4d(d.x, [...c.x]);
    const w = tf.tensor4d(d.w, [...c.f]);
    const r = tf.tensor(d.r, [...d.yShape]);
    const f = (xi: Tensor, wi: Tensor): Tensor => {
      const wd = dil[0] * dil[1] > 1 ? dilateFilter(wi as Tensor4D, dil) : (wi as Tensor4D);
      return tf.conv2d(xi as Tensor4D, wd, c.strides as number | [number, number], c.pad);
    };
    const { value, grads } = tf.valueAndGrads((xi: Tensor, wi: Tensor) => tf.sum(tf.mul(f(xi, wi), r)))([x, w]);
    value.dispose();
    return [f(x, w), grads[0]!, grads[1]!];
  });
  return read(ts);
}

/** The same with this package's {@link conv2d}, on the current backend. */
export function ourGrads(c: ConvCase, d: CaseData): Promise<CaseGrads> {
  const ts = tf.tidy(() => {
    const x = tf.tensor4d(d.x, [...c.x]);
    const w = tf.tensor4d(d.w, [...c.f]);
    const r = tf.tensor(d.r, [...d.yShape]);
    const f = (xi: Tensor, wi: Tensor): Tensor => conv2d(xi as Tensor4D, wi as Tensor4D, c.strides, c.pad, c.dilation ?? 1);
    const grads = tf.grads((xi: Tensor, wi: Tensor) => tf.sum(tf.mul(f(xi, wi), r)))([x, w]);
    return [f(x, w), grads[0]!, grads[1]!];
  });
  return read(ts);
}

/** max |a − b| / max(1, max |b|): an absolute error for values ≤ 1, a relative one above. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}
