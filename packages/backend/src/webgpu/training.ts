import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { AdamAttrs, BatchNormTrainAttrs } from '../kernels';
import { KernelName } from '../kernels';
import type { ProgramSpec } from './program';
import { flatDispatch, runProgram, shaped } from './program';

/**
 * The fused training kernels (see {@link KernelName}) in WGSL: batch norm with the batch's
 * statistics (+ residual + ReLU) forward and backward, and Adam. The same arithmetic as the
 * composite ops and the native kernels; what changes is the number of passes over the data:
 * forward 4 dispatches, backward 6, Adam 3 per variable, where the composites record ~10–20.
 *
 * Per-channel sums over x [rows, C] run in two stages: workgroups of 16 channels × 16 row lanes
 * sum a chunk of rows each (neighbouring lanes read neighbouring channels, so reads coalesce),
 * then one small pass per statistic adds the chunks. The variance is summed about the channel's
 * first value (a shift), which keeps E[(x − K)²] − E[x − K]² accurate when |mean| ≫ std.
 */

const LANES = 16;
const CHANNELS_PER_GROUP = 16;
/** At most this many row chunks: the second stage reads them all per channel. */
const MAX_CHUNKS = 256;
/** At least this many rows per chunk. */
const MIN_ROWS_PER_CHUNK = 256;

function chunking(rows: number): { chunks: number; rowsPerChunk: number } {
  const chunks = Math.max(1, Math.min(MAX_CHUNKS, Math.floor(rows / MIN_ROWS_PER_CHUNK)));
  return { chunks, rowsPerChunk: Math.ceil(rows / chunks) };
}

/**
 * Partial sums of two per-element terms over each chunk of rows: result [chunks, 2, C].
 * `terms` is WGSL with `r`, `c` (row, channel) in scope that sets `t1` and `t2`.
 */
function partialSums(key: string, inputs: readonly string[], rows: number, channels: number, terms: string, floats: Record<string, number> = {}): ProgramSpec {
  const { chunks, rowsPerChunk } = chunking(rows);
  return {
    key: `bn_partial_${key}`,
    inputs,
    size: chunks * 2 * channels,
    workgroupSize: [CHANNELS_PER_GROUP, LANES, 1],
    dispatch: [Math.ceil(channels / CHANNELS_PER_GROUP), chunks, 1],
    ints: { rows, channels, rowsPerChunk },
    floats,
    code: `
  var<workgroup> s1: array<f32, ${CHANNELS_PER_GROUP * LANES}>;
  var<workgroup> s2: array<f32, ${CHANNELS_PER_GROUP * LANES}>;
  fn main(index: i32) {
    let cx = i32(localId.x);
    let lane = i32(localId.y);
    let c = i32(workgroupId.x) * ${CHANNELS_PER_GROUP} + cx;
    let chunk = i32(workgroupId.y);
    var a1 = 0.0;
    var a2 = 0.0;
    if (c < uniforms.channels) {
      let start = chunk * uniforms.rowsPerChunk;
      let end = min(uniforms.rows, start + uniforms.rowsPerChunk);
      for (var r = start + lane; r < end; r += ${LANES}) {
        var t1 = 0.0;
        var t2 = 0.0;
        ${terms}
        a1 += t1;
        a2 += t2;
      }
    }
    s1[lane * ${CHANNELS_PER_GROUP} + cx] = a1;
    s2[lane * ${CHANNELS_PER_GROUP} + cx] = a2;
    workgroupBarrier();
    if (lane == 0 && c < uniforms.channels) {
      var b1 = 0.0;
      var b2 = 0.0;
      for (var l = 0; l < ${LANES}; l++) {
        b1 += s1[l * ${CHANNELS_PER_GROUP} + cx];
        b2 += s2[l * ${CHANNELS_PER_GROUP} + cx];
      }
      let base = chunk * 2 * uniforms.channels;
      result[base + c] = b1;
      result[base + uniforms.channels + c] = b2;
    }
  }`,
  };
}

/** A per-channel pass over the partial sums P [chunks, 2, C]: `body` sets `v` from `S1`, `S2` (the totals) and `c`. */
function perChannel(key: string, inputs: readonly string[], rows: number, channels: number, body: string, floats: Record<string, number> = {}): ProgramSpec {
  return {
    key: `bn_channel_${key}`,
    inputs,
    size: channels,
    workgroupSize: [64, 1, 1],
    dispatch: flatDispatch(channels, 64),
    ints: { rows, channels, chunks: chunking(rows).chunks },
    floats,
    code: `
  fn main(index: i32) {
    if (index >= uniforms.size) { return; }
    let c = index;
    var S1 = 0.0;
    var S2 = 0.0;
    for (var k = 0; k < uniforms.chunks; k++) {
      S1 += P[k * 2 * uniforms.channels + c];
      S2 += P[k * 2 * uniforms.channels + uniforms.channels + c];
    }
    let n = f32(uniforms.rows);
    var v = 0.0;
    ${body}
    result[c] = v;
  }`,
  };
}

/** An element-wise pass over [rows, C]: `body` sets `v` with `index` and `c = index % C` in scope. */
function elementwise(key: string, inputs: readonly string[], size: number, channels: number, body: string, floats: Record<string, number> = {}): ProgramSpec {
  return {
    key: `bn_elementwise_${key}`,
    inputs,
    size,
    workgroupSize: [256, 1, 1],
    dispatch: flatDispatch(size, 256),
    ints: { channels },
    floats,
    code: `
  fn main(index: i32) {
    if (index >= uniforms.size) { return; }
    let c = index % uniforms.channels;
    var v = 0.0;
    ${body}
    result[index] = v;
  }`,
  };
}

const channelsOf = (x: TensorInfo): number => x.shape[x.shape.length - 1]!;
const sizeOf = (x: TensorInfo): number => x.shape.reduce((a, b) => a * b, 1);

const batchNormTrain: KernelFunc = ({ inputs, backend, attrs }) => {
  const gpu = backend as WebGPUBackend;
  const { x, scale, offset, residual } = inputs as { x: TensorInfo; scale: TensorInfo; offset: TensorInfo; residual?: TensorInfo };
  const a = attrs as unknown as BatchNormTrainAttrs;
  const channels = channelsOf(x);
  const size = sizeOf(x);
  const rows = size / channels;
  // Sums of (x − K) and (x − K)², K = the channel's first value.
  const partial = runProgram(gpu, partialSums('stats', ['X'], rows, channels, 'let d = X[r * uniforms.channels + c] - X[c]; t1 = d; t2 = d * d;'), [x]);
  const mean = runProgram(gpu, perChannel('mean', ['P', 'X'], rows, channels, 'v = X[c] + S1 / n;'), [partial, x]);
  const variance = runProgram(gpu, perChannel('variance', ['P'], rows, channels, 'let m = S1 / n; v = max(S2 / n - m * m, 0.0);'), [partial]);
  gpu.disposeData(partial.dataId);
  const names = ['X', 'Mean', 'Variance', 'Scale', 'Offset', ...(residual ? ['Residual'] : [])];
  const body = `
    let xhat = (X[index] - Mean[c]) * inverseSqrt(Variance[c] + uniforms.epsilon);
    v = xhat * Scale[c] + Offset[c]${residual ? ' + Residual[index]' : ''};
    ${a.relu ? 'v = max(v, 0.0);' : ''}`;
  const y = runProgram(gpu, elementwise(`forward_${a.relu}_${a.residual}`, names, size, channels, body, { epsilon: a.epsilon }), [x, mean, variance, scale, offset, ...(residual ? [residual] : [])]);
  return [shaped(y, x.shape), mean, variance];
};

const batchNormTrainGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const gpu = backend as WebGPUBackend;
  const { dy, x, scale, mean, variance, y } = inputs as Record<'dy' | 'x' | 'scale' | 'mean' | 'variance' | 'y', TensorInfo>;
  const a = attrs as unknown as BatchNormTrainAttrs;
  const channels = channelsOf(x);
  const size = sizeOf(x);
  const rows = size / channels;
  const eps = { epsilon: a.epsilon };
  // dz: the gradient past the ReLU (and the residual's gradient); without a ReLU, dy itself.
  const dz = a.relu ? runProgram(gpu, elementwise('relu_mask', ['Dy', 'Y'], size, channels, 'v = select(0.0, Dy[index], Y[index] > 0.0);'), [dy, y]) : dy;
  // Σ dz and Σ dz·x̂ per channel.
  const partial = runProgram(
    gpu,
    partialSums('grad', ['Dz', 'X', 'Mean', 'Variance'], rows, channels, 'let i = r * uniforms.channels + c; let g = Dz[i]; t1 = g; t2 = g * (X[i] - Mean[c]) * inverseSqrt(Variance[c] + uniforms.epsilon);', eps),
    [dz, x, mean, variance],
  );
  const doffset = runProgram(gpu, perChannel('sum1', ['P'], rows, channels, 'v = S1;'), [partial]);
  const dscale = runProgram(gpu, perChannel('sum2', ['P'], rows, channels, 'v = S2;'), [partial]);
  gpu.disposeData(partial.dataId);
  // dx = γ/σ · (dz − dβ/n − x̂·dγ/n), σ = √(var + ε), x̂ = (x − μ)/σ.
  const dxBody = `
    let inv = inverseSqrt(Variance[c] + uniforms.epsilon);
    let xhat = (X[index] - Mean[c]) * inv;
    v = Scale[c] * inv * (Dz[index] - (Doffset[c] + xhat * Dscale[c]) / uniforms.rows);`;
  const dx = runProgram(gpu, elementwise('dx', ['Dz', 'X', 'Mean', 'Variance', 'Scale', 'Doffset', 'Dscale'], size, channels, dxBody, { ...eps, rows }), [dz, x, mean, variance, scale, doffset, dscale]);
  let dzOut: TensorInfo;
  if (a.residual) {
    // Without a ReLU the residual's gradient is dy: handed on, not copied.
    if (!a.relu) gpu.incRef(dy.dataId);
    dzOut = shaped(dz, x.shape);
  } else {
    if (a.relu) gpu.disposeData(dz.dataId);
    dzOut = gpu.makeTensorInfo([0], 'float32');
  }
  return [shaped(dx, x.shape), dscale, doffset, dzOut];
};

const adamUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const gpu = backend as WebGPUBackend;
  const { variable, m, s, gradient } = inputs as Record<'variable' | 'm' | 's' | 'gradient', TensorInfo>;
  const a = attrs as unknown as AdamAttrs;
  const size = sizeOf(variable);
  const floats = {
    b1: a.beta1,
    b2: a.beta2,
    lr: a.learningRate,
    eps: a.epsilon,
    wd: a.weightDecay,
    c1: 1 - a.beta1 ** a.step,
    c2: 1 - a.beta2 ** a.step,
  };
  const spec = (key: string, body: string): ProgramSpec => ({
    key: `adam_${key}`,
    inputs: ['V', 'M', 'S', 'G'],
    size,
    workgroupSize: [256, 1, 1],
    dispatch: flatDispatch(size, 256),
    floats,
    code: `
  fn main(index: i32) {
    if (index >= uniforms.size) { return; }
    // Every program reads all four inputs: a binding no code reads is dropped from the 'auto' layout.
    let v = V[index];
    let g = G[index];
    let m2 = uniforms.b1 * M[index] + (1.0 - uniforms.b1) * g;
    let s2 = uniforms.b2 * S[index] + (1.0 - uniforms.b2) * g * g;
    ${body}
  }`,
  });
  const ins = [variable, m, s, gradient];
  const v2 = runProgram(gpu, spec('variable', 'let u = (m2 / uniforms.c1) / (sqrt(s2 / uniforms.c2) + uniforms.eps) + uniforms.wd * v; result[index] = v - uniforms.lr * u;'), ins);
  const m2 = runProgram(gpu, spec('m', 'result[index] = m2;'), ins);
  const s2 = runProgram(gpu, spec('s', 'result[index] = s2;'), ins);
  return [shaped(v2, variable.shape), shaped(m2, variable.shape), shaped(s2, variable.shape)];
};

/** The kernel configs, for `useWebGpuKernels`. */
export const trainingKernelFuncs: Readonly<Record<string, KernelFunc>> = {
  [KernelName.BatchNormTrain]: batchNormTrain,
  [KernelName.BatchNormTrainGrad]: batchNormTrainGrad,
  [KernelName.AdamUpdate]: adamUpdate,
};
