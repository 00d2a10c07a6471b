import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { adamUpdate } from '../ops/adamUpdate';
import { batchNormTrain } from '../ops/batchNormTrain';
import type { WebGpuKernelGroup } from '../webgpu/kernels';
import { webGpuKernelActive } from '../webgpu/kernels';
import { CONV_CASES, caseData, randomNormal, relativeError } from './conv2dCases';

/**
 * The shape table of our WGSL kernels, each case run on the cpu backend (tfjs' own kernels, or
 * the composite ops for the fused ones) and on webgpu (ours), compared output by output. One
 * table for every place WebGPU runs: Node through Dawn (`kernels.webgpu.test.ts`) and Chromium
 * (`@tomosort/viewer`'s `kernelChecks.webgpu.test.ts`). Browser-safe: no Node import.
 *
 * The shapes exercise every GEMM tile (outputs of ≥ 64, 32–63 and < 32 channels), partial tiles,
 * strides, 'same'/'valid'/numeric pads and the filter gradient's K split; batch norm's row
 * chunks, partial channel groups, residual and ReLU variants, 5D and a large mean.
 */
export interface KernelCheck {
  /** e.g. "Conv3D input gradient x [2,5,6,7,2] f [3,3,3,2,3] s [1,1,1] 1 (pad 1)". */
  readonly name: string;
  readonly group: WebGpuKernelGroup;
  /** Computes the case's outputs on the current backend and reads them back. */
  run(): Promise<Float32Array[]>;
}

export interface KernelCheckResult {
  readonly name: string;
  readonly group: WebGpuKernelGroup;
  /** Our kernel group was the one installed while the webgpu side ran (not tfjs' own). */
  readonly ours: boolean;
  readonly outputs: number;
  /** The largest {@link relativeError} over the outputs, webgpu against cpu. */
  readonly maxRelativeError: number;
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

async function readAll(ts: Tensor[]): Promise<Float32Array[]> {
  try {
    return (await Promise.all(ts.map((t) => t.data()))) as Float32Array[];
  } finally {
    tf.dispose(ts);
  }
}

/** One kernel with inputs drawn from fixed seeds: `inputs` maps a name to its shape and seed. */
function kernelCheck(name: string, group: WebGpuKernelGroup, kernel: string, inputs: Record<string, readonly [readonly number[], number]>, attrs: object): KernelCheck {
  return {
    name,
    group,
    run: () =>
      readAll([
        tf.tidy(() => {
          const ins = Object.fromEntries(Object.entries(inputs).map(([k, [shape, seed]]) => [k, tf.tensor(randomNormal(size(shape), seed), [...shape])]));
          return tf.engine().runKernel(kernel, ins, attrs as NamedAttrMap) as Tensor;
        }),
      ]),
  };
}

type Conv2DCase = { x: readonly [number, number, number, number]; f: readonly [number, number, number, number]; strides: number | [number, number]; pad: 'same' | 'valid' | number; why: string };

const CONV2D_CASES: readonly Conv2DCase[] = [
  ...CONV_CASES.filter((c) => (c.dilation ?? 1) === 1 && /stride 3|stem, pads 2/.test(c.why)).map((c) => ({ x: c.x, f: c.f, strides: c.strides as number | [number, number], pad: c.pad, why: c.why })),
  { x: [2, 16, 16, 16], f: [3, 3, 16, 64], strides: 1, pad: 'same', why: '64×64 tiles, K split in 2' },
  { x: [3, 17, 19, 24], f: [3, 3, 24, 40], strides: 2, pad: 'same', why: '128×32 tiles, partial tiles' },
  { x: [2, 30, 30, 5], f: [5, 5, 5, 8], strides: 1, pad: 2, why: '128×16 tiles, numeric pad' },
];

function conv2dChecks(): KernelCheck[] {
  return CONV2D_CASES.flatMap((c) => {
    const dy = caseData({ x: c.x, f: c.f, strides: c.strides, pad: c.pad, why: c.why }).yShape;
    const label = `x [${c.x}] f [${c.f}] s ${String(c.strides)} ${c.pad} (${c.why})`;
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    return [
      kernelCheck(`Conv2DBackpropFilter ${label}`, 'conv2dBackpropFilter', tf.Conv2DBackpropFilter, { x: [c.x, 11], dy: [dy, 12] }, { ...attrs, filterShape: [...c.f] }),
      kernelCheck(`Conv2DBackpropInput ${label}`, 'conv2dBackpropInput', tf.Conv2DBackpropInput, { dy: [dy, 13], filter: [c.f, 14] }, { ...attrs, inputShape: [...c.x] }),
    ];
  });
}

type Conv3DCase = { x: [number, number, number, number, number]; f: [number, number, number, number, number]; strides: [number, number, number]; pad: 'same' | 'valid' | number; why: string };

const CONV3D_CASES: readonly Conv3DCase[] = [
  { x: [2, 5, 6, 7, 2], f: [3, 3, 3, 2, 3], strides: [1, 1, 1], pad: 1, why: 'pad 1' },
  { x: [1, 6, 6, 6, 3], f: [3, 3, 3, 3, 4], strides: [2, 2, 2], pad: 'same', why: 'stride 2, same' },
  { x: [2, 3, 8, 7, 2], f: [3, 3, 3, 2, 3], strides: [1, 2, 2], pad: 1, why: 'no stride along depth (CSPR)' },
  { x: [1, 7, 7, 7, 2], f: [2, 2, 2, 2, 5], strides: [2, 2, 2], pad: 'valid', why: 'valid, the last voxel never read' },
  { x: [2, 8, 8, 8, 16], f: [3, 3, 3, 16, 32], strides: [1, 1, 1], pad: 1, why: '3D U-Net level 2, 128×32 tiles' },
  { x: [1, 6, 10, 10, 8], f: [1, 7, 7, 8, 64], strides: [1, 2, 2], pad: 'same', why: '64 channels, a 1×7×7 stem' },
];

function conv3dChecks(): KernelCheck[] {
  return CONV3D_CASES.flatMap((c) => {
    const dy = tf.backend_util.computeConv3DInfo(c.x, c.f, c.strides, 1, c.pad).outShape;
    const label = `x [${c.x}] f [${c.f}] s [${c.strides}] ${c.pad} (${c.why})`;
    const attrs = { strides: c.strides, pad: c.pad, dilations: [1, 1, 1], dataFormat: 'NDHWC' };
    return [
      kernelCheck(`Conv3D forward ${label}`, 'conv3d', tf.Conv3D, { x: [c.x, 21], filter: [c.f, 22] }, attrs),
      kernelCheck(`Conv3D filter gradient ${label}`, 'conv3d', tf.Conv3DBackpropFilterV2, { x: [c.x, 23], dy: [dy, 24] }, { ...attrs, filterShape: c.f }),
      kernelCheck(`Conv3D input gradient ${label}`, 'conv3d', tf.Conv3DBackpropInputV2, { dy: [dy, 25], filter: [c.f, 26] }, { ...attrs, inputShape: c.x }),
    ];
  });
}

type BatchNormCase = { shape: number[]; relu: boolean; residual: boolean; shift?: number; why: string };

const BATCH_NORM_CASES: readonly BatchNormCase[] = [
  { shape: [2, 5, 7, 3], relu: false, residual: false, why: 'plain, fewer rows than one chunk' },
  { shape: [4, 16, 16, 20], relu: true, residual: false, why: 'ReLU, 4 row chunks, a partial channel group' },
  { shape: [2, 12, 12, 16], relu: true, residual: true, why: 'ResNet block end: residual + ReLU' },
  { shape: [3, 9, 9, 5], relu: false, residual: true, why: 'residual without ReLU (dz is dy)' },
  { shape: [2, 4, 6, 6, 8], relu: true, residual: false, why: '5D (3D U-Net)' },
  { shape: [2, 10, 10, 4], relu: false, residual: false, shift: 1000, why: '|mean| ≫ std: the shifted variance' },
];

/** y, mean, variance and the gradient of Σ y · r for every input: the fused kernel and its gradient. */
function batchNormCheck(c: BatchNormCase): KernelCheck {
  return {
    name: `batch norm [${c.shape}] relu ${c.relu} residual ${c.residual} (${c.why}): y, mean, variance, every gradient`,
    group: 'batchNormTrain',
    run: () =>
      readAll(
        tf.tidy(() => {
          const n = size(c.shape);
          const ch = c.shape.at(-1)!;
          const x = tf.add(tf.tensor(randomNormal(n, 61), c.shape), c.shift ?? 0);
          const scale = tf.tensor1d(randomNormal(ch, 62));
          const offset = tf.tensor1d(randomNormal(ch, 63));
          const res = tf.tensor(randomNormal(n, 64), c.shape);
          const r = tf.tensor(randomNormal(n, 65), c.shape);
          const f = (xi: Tensor, s: Tensor, o: Tensor, q: Tensor) =>
            batchNormTrain(xi, s as tf.Tensor1D, o as tf.Tensor1D, { relu: c.relu, ...(c.residual ? { residual: q } : {}) });
          const { y, mean, variance } = f(x, scale, offset, res);
          const loss = (xi: Tensor, s: Tensor, o: Tensor, q: Tensor) => tf.sum(tf.mul(f(xi, s, o, q).y, r));
          const grads = c.residual ? tf.grads(loss)([x, scale, offset, res]) : tf.grads((xi: Tensor, s: Tensor, o: Tensor) => loss(xi, s, o, res))([x, scale, offset]);
          return [y, mean, variance, ...grads];
        }),
      ),
  };
}

const ADAM_CHECK: KernelCheck = {
  name: 'AdamW, step 3, weight decay 0.05: variable and both slots',
  group: 'adamUpdate',
  run: () =>
    readAll(
      tf.tidy(() => {
        const [v, m, s, g] = [71, 72, 73, 74].map((seed) => tf.tensor(randomNormal(1000, seed), [10, 100]));
        const r = adamUpdate(v!, m!, tf.abs(s!), g!, { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 3, weightDecay: 0.05 });
        return [r.variable, r.m, r.s];
      }),
    ),
};

export const WEBGPU_KERNEL_CHECKS: readonly KernelCheck[] = [...conv2dChecks(), ...conv3dChecks(), ...BATCH_NORM_CASES.map(batchNormCheck), ADAM_CHECK];

/**
 * Runs one check on cpu, then on webgpu, and compares. Both backends must be registered; the
 * webgpu one is left active.
 */
export async function runKernelCheck(check: KernelCheck): Promise<KernelCheckResult> {
  await tf.setBackend('cpu');
  const ref = await check.run();
  await tf.setBackend('webgpu');
  const ours = webGpuKernelActive(check.group);
  const got = await check.run();
  const maxRelativeError = got.length !== ref.length ? Infinity : Math.max(...ref.map((r, i) => relativeError(got[i]!, r)));
  return { name: check.name, group: check.group, ours, outputs: ref.length, maxRelativeError };
}

/** The whole table, in order. */
export async function checkWebGpuKernels(checks: readonly KernelCheck[] = WEBGPU_KERNEL_CHECKS): Promise<KernelCheckResult[]> {
  const out: KernelCheckResult[] = [];
  for (const c of checks) out.push(await runKernelCheck(c));
  return out;
}
