import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { ProgramSpec } from './program';
import { MAX_WORKGROUPS_PER_DIMENSION, flatDispatch, runProgram, shaped } from './program';

/**
 * Convolutions as implicit GEMMs in WGSL: one tiled matrix product whose operands are gathered
 * from the tensors on the fly (no im2col buffer), in three forms. A 2D conv is the 3D one with
 * depth 1. NDHWC input x, filter W [fd, fh, fw, inC, outC], output y [N, oD, oH, oW, outC];
 * padded coordinates z = o·s − p + a·d along each axis.
 *
 * | form | C[M × N] | M | N | K (summed) | A[m, k] | B[k, n] |
 * |---|---|---|---|---|---|---|
 * | forward | y | N·oD·oH·oW | outC | fd·fh·fw·inC | x at (output m, tap k) | W |
 * | filter gradient | dW | fd·fh·fw·inC | outC | N·oD·oH·oW | x at (tap m, output k) | dy |
 * | input gradient | dx | N·D·H·W | inC | fd·fh·fw·outC | dy at (input m, tap k) when the tap hits an output, else 0 | Wᵀ (channels swapped) |
 *
 * The filter gradient's K is the whole batch and image, and its M × N is small (a 3×3 64→64 conv:
 * 576 × 64, nine 64² tiles): it is split along K over a third dispatch dimension, each split
 * writing a partial product, then one reduction pass sums them (a GPU needs hundreds of
 * workgroups in flight; tfjs' own Conv2DBackpropFilter runs one invocation per filter element).
 */
export interface ConvGeometry3D {
  readonly batch: number;
  /** Input [D, H, W] and channels. */
  readonly inD: number;
  readonly inH: number;
  readonly inW: number;
  readonly inC: number;
  readonly outD: number;
  readonly outH: number;
  readonly outW: number;
  readonly outC: number;
  readonly fD: number;
  readonly fH: number;
  readonly fW: number;
  readonly sD: number;
  readonly sH: number;
  readonly sW: number;
  readonly dD: number;
  readonly dH: number;
  readonly dW: number;
  /** Zeros before the first voxel along each axis. */
  readonly pD: number;
  readonly pH: number;
  readonly pW: number;
}

export type ConvGemmForm = 'forward' | 'filter' | 'input';

/** Tile shapes: [rows of C, columns of C]; each invocation computes 4 × 4 of the tile, TK = 16. */
const TILES = [
  [64, 64],
  [128, 32],
  [128, 16],
] as const;
const TK = 16;

function tileFor(n: number): readonly [number, number] {
  if (n >= 64) return TILES[0];
  if (n >= 32) return TILES[1];
  return TILES[2];
}

/** WGSL that splits a flat index into coordinates (most significant first), with the given names and extents. */
function unflatten(index: string, names: readonly string[], extents: readonly string[]): string {
  const lines = [`var t_${names[0]} = ${index};`];
  for (let i = names.length - 1; i >= 1; i--) {
    lines.push(`let ${names[i]} = t_${names[0]} % ${extents[i]}; t_${names[0]} = t_${names[0]} / ${extents[i]};`);
  }
  lines.push(`let ${names[0]} = t_${names[0]};`);
  return lines.join('\n    ');
}

/** The A and B gathers of one form (see the table in {@link ConvGeometry3D}'s doc). */
function operandCode(form: ConvGemmForm): string {
  const u = (n: string) => `uniforms.${n}`;
  const xAt = `
    let zd = od * ${u('sD')} - ${u('pD')} + a * ${u('dD')};
    let zh = oh * ${u('sH')} - ${u('pH')} + b * ${u('dH')};
    let zw = ow * ${u('sW')} - ${u('pW')} + e * ${u('dW')};
    if (zd < 0 || zd >= ${u('inD')} || zh < 0 || zh >= ${u('inH')} || zw < 0 || zw >= ${u('inW')}) { return 0.0; }
    return A[(((n * ${u('inD')} + zd) * ${u('inH')} + zh) * ${u('inW')} + zw) * ${u('inC')} + c];`;
  const output = ['n', 'od', 'oh', 'ow'];
  const outputExtents = ['', u('outD'), u('outH'), u('outW')];
  const tapIn = ['a', 'b', 'e', 'c'];
  const tapInExtents = ['', u('fH'), u('fW'), u('inC')];
  if (form === 'forward') {
    return `
  fn loadA(m: i32, k: i32) -> f32 {
    ${unflatten('m', output, outputExtents)}
    ${unflatten('k', tapIn, tapInExtents)}${xAt}
  }
  fn loadB(k: i32, col: i32) -> f32 { return B[k * uniforms.N + col]; }`;
  }
  if (form === 'filter') {
    return `
  fn loadA(m: i32, k: i32) -> f32 {
    ${unflatten('m', tapIn, tapInExtents)}
    ${unflatten('k', output, outputExtents)}${xAt}
  }
  fn loadB(k: i32, col: i32) -> f32 { return B[k * uniforms.N + col]; }`;
  }
  // Input gradient: input voxel (n, zd, zh, zw) gets dy at o = (z + p − a·d) / s when that is whole and inside.
  const along = (z: string, a: string, axis: 'D' | 'H' | 'W', o: string) => `
    let q${o} = ${z} + ${u(`p${axis}`)} - ${a} * ${u(`d${axis}`)};
    if (q${o} < 0 || q${o} % ${u(`s${axis}`)} != 0) { return 0.0; }
    let ${o} = q${o} / ${u(`s${axis}`)};
    if (${o} >= ${u(`out${axis}`)}) { return 0.0; }`;
  return `
  fn loadA(m: i32, k: i32) -> f32 {
    ${unflatten('m', ['n', 'zd', 'zh', 'zw'], ['', u('inD'), u('inH'), u('inW')])}
    ${unflatten('k', ['a', 'b', 'e', 'o'], ['', u('fH'), u('fW'), u('outC')])}${along('zd', 'a', 'D', 'od')}${along('zh', 'b', 'H', 'oh')}${along('zw', 'e', 'W', 'ow')}
    return A[(((n * ${u('outD')} + od) * ${u('outH')} + oh) * ${u('outW')} + ow) * ${u('outC')} + o];
  }
  fn loadB(k: i32, col: i32) -> f32 {
    // W[tap, col, o] with k = tap·outC + o: the filter read with its channel axes swapped.
    let tap = k / ${u('outC')};
    let o = k - tap * ${u('outC')};
    return B[(tap * ${u('inC')} + col) * ${u('outC')} + o];
  }`;
}

/**
 * The tiled product C[split][m, n] = Σ_{k in split} A[m, k]·B[k, n]. Workgroup (TN/4, TM/4):
 * each invocation accumulates a 4 × 4 block, rows ty + i·TM/4 and columns tx + j·TN/4 (strided,
 * so neighbouring invocations read neighbouring shared-memory words). The k loop's trip count is
 * a uniform, so the barriers stay in uniform control flow.
 */
function gemmCode(form: ConvGemmForm, tm: number, tn: number): string {
  const threads = (tm / 4) * (tn / 4);
  return `${operandCode(form)}
  var<workgroup> tileA: array<f32, ${tm * TK}>;
  var<workgroup> tileB: array<f32, ${TK * tn}>;
  fn main(index: i32) {
    let tx = i32(localId.x);
    let ty = i32(localId.y);
    let lid = i32(localIndex);
    let m0 = i32(workgroupId.x) * ${tm};
    let n0 = i32(workgroupId.y) * ${tn};
    let split = i32(workgroupId.z);
    let kStart = split * uniforms.kChunk;
    let kEnd = min(uniforms.K, kStart + uniforms.kChunk);
    var acc: array<array<f32, 4>, 4>;
    for (var t = 0; t < uniforms.kTiles; t++) {
      let k0 = kStart + t * ${TK};
      for (var i = 0; i < ${(tm * TK) / threads}; i++) {
        let el = lid + i * ${threads};
        let m = m0 + el / ${TK};
        let k = k0 + el % ${TK};
        var v = 0.0;
        if (m < uniforms.M && k < kEnd) { v = loadA(m, k); }
        tileA[el] = v;
      }
      for (var i = 0; i < ${(TK * tn) / threads}; i++) {
        let el = lid + i * ${threads};
        let k = k0 + el / ${tn};
        let col = n0 + el % ${tn};
        var v = 0.0;
        if (col < uniforms.N && k < kEnd) { v = loadB(k, col); }
        tileB[el] = v;
      }
      workgroupBarrier();
      for (var kk = 0; kk < ${TK}; kk++) {
        var b: array<f32, 4>;
        for (var j = 0; j < 4; j++) { b[j] = tileB[kk * ${tn} + tx + j * ${tn / 4}]; }
        for (var i = 0; i < 4; i++) {
          let a = tileA[(ty + i * ${tm / 4}) * ${TK} + kk];
          for (var j = 0; j < 4; j++) { acc[i][j] = fma(a, b[j], acc[i][j]); }
        }
      }
      workgroupBarrier();
    }
    let base = split * uniforms.M * uniforms.N;
    for (var i = 0; i < 4; i++) {
      let m = m0 + ty + i * ${tm / 4};
      if (m >= uniforms.M) { continue; }
      for (var j = 0; j < 4; j++) {
        let col = n0 + tx + j * ${tn / 4};
        if (col < uniforms.N) { result[base + m * uniforms.N + col] = acc[i][j]; }
      }
    }
  }`;
}

/** Sum over the leading axis of a flat [splits, size] buffer. */
function splitSumSpec(splits: number, size: number): ProgramSpec {
  return {
    key: 'split_sum',
    inputs: ['P'],
    size,
    workgroupSize: [256, 1, 1],
    dispatch: flatDispatch(size, 256),
    ints: { splits },
    code: `
  fn main(index: i32) {
    if (index >= uniforms.size) { return; }
    var s = 0.0;
    for (var i = 0; i < uniforms.splits; i++) { s += P[i * uniforms.size + index]; }
    result[index] = s;
  }`,
  };
}

/** M, N, K of a form (see {@link ConvGeometry3D}). */
export function gemmDims(form: ConvGemmForm, g: ConvGeometry3D): { m: number; n: number; k: number } {
  const outputs = g.batch * g.outD * g.outH * g.outW;
  const taps = g.fD * g.fH * g.fW;
  if (form === 'forward') return { m: outputs, n: g.outC, k: taps * g.inC };
  if (form === 'filter') return { m: taps * g.inC, n: g.outC, k: outputs };
  return { m: g.batch * g.inD * g.inH * g.inW, n: g.inC, k: taps * g.outC };
}

/** Workgroups a GPU wants in flight before splitting K pays (a few per compute unit of a large GPU). */
const TARGET_WORKGROUPS = 512;
/** The least K one split sums, so a split's partial product is worth writing. */
const MIN_K_PER_SPLIT = 256;

/** How a form is dispatched: tile, K split and workgroups. Exported for the tests and the benchmark's notes. */
export function gemmPlan(form: ConvGemmForm, g: ConvGeometry3D): { tm: number; tn: number; splits: number; kChunk: number; dispatch: [number, number, number] } {
  const { m, n, k } = gemmDims(form, g);
  const [tm, tn] = tileFor(n);
  const tiles = Math.ceil(m / tm) * Math.ceil(n / tn);
  let splits = 1;
  if (form === 'filter') {
    splits = Math.max(1, Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.floor(k / MIN_K_PER_SPLIT), MAX_WORKGROUPS_PER_DIMENSION));
  }
  // A chunk is a whole number of k tiles, so every split but the last is full.
  const kChunk = Math.ceil(Math.ceil(k / splits) / TK) * TK;
  splits = Math.ceil(k / kChunk);
  return { tm, tn, splits, kChunk, dispatch: [Math.ceil(m / tm), Math.ceil(n / tn), splits] };
}

/**
 * Runs one form on the webgpu backend and returns the result with `shape`. Inputs: forward (x, W),
 * filter (x, dy), input (dy, W).
 */
export function convGemm(backend: WebGPUBackend, form: ConvGemmForm, g: ConvGeometry3D, a: TensorInfo, b: TensorInfo, shape: readonly number[]): TensorInfo {
  const { m, n, k } = gemmDims(form, g);
  const plan = gemmPlan(form, g);
  const ints = {
    ...Object.fromEntries(Object.entries(g).filter(([key]) => key !== 'batch')),
    M: m,
    N: n,
    K: k,
    kChunk: plan.kChunk,
    kTiles: plan.kChunk / TK,
  } as Record<string, number>;
  const spec: ProgramSpec = {
    key: `conv_gemm_${form}_${plan.tm}x${plan.tn}`,
    inputs: ['A', 'B'],
    size: plan.splits * m * n,
    workgroupSize: [plan.tn / 4, plan.tm / 4, 1],
    dispatch: plan.dispatch,
    ints,
    code: gemmCode(form, plan.tm, plan.tn),
  };
  const product = runProgram(backend, spec, [a, b]);
  if (plan.splits === 1) return shaped(product, shape);
  const sum = runProgram(backend, splitSumSpec(plan.splits, m * n), [product]);
  backend.disposeData(product.dataId);
  return shaped(sum, shape);
}
