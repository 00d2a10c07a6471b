import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D, Tensor5D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendInfo } from '../backends';
import { initNodeBackend } from '../node';
import { CONV_CASES, caseData, caseName, ourGrads, randomNormal, relativeError, stockGrads } from '../testing/conv2dCases';
import { conv3d, maxPool3d } from './conv3d';
import type { Pad3D, Stride3D } from './conv3d';
import { maxPool } from './maxPool';
import { WEBGPU_KERNEL_GROUPS, useWebGpuKernels } from '../webgpu/kernels';

/**
 * WebGPU through Dawn: a real GPU when the machine has one, else SwiftShader from Debian's
 * `chromium` package (a CPU emulation). These tests do not skip when neither is there: `beforeAll`
 * fails with initNodeBackend's reason (e.g. "webgpu: no GPU adapter (…; no SwiftShader ICD …)").
 * Measured on SwiftShader: errors ≤ 3.4e-7; the 1e-5 bound leaves room for real GPUs' summation order.
 */
const WEBGPU_TOLERANCE = 1e-5;

let info: BackendInfo;
beforeAll(async () => {
  await initNodeBackend('cpu');
  info = await initNodeBackend('webgpu');
  await tf.setBackend('cpu');
}, 30_000);

describe('webgpu backend in Node', () => {
  it('reports its adapter: "webgpu (SwiftShader)" on a machine without a GPU', () => {
    expect(info.active).toBe('webgpu');
    expect(info.label).toMatch(/^webgpu \(.+\)$/);
    expect(info.adapter).toBeTruthy();
    if (/swiftshader/i.test(info.adapter ?? '')) {
      expect(info.label).toBe('webgpu (SwiftShader)');
      expect(info.softwareAdapter).toBe(true);
    }
  });
});

/** conv2d's value and gradients on webgpu against tfjs' own on cpu, for one case of the table. */
async function expectConvAgrees(c: (typeof CONV_CASES)[number]): Promise<void> {
  const d = caseData(c);
  await tf.setBackend('cpu');
  const ref = await stockGrads(c, d);
  await tf.setBackend('webgpu');
  const ours = await ourGrads(c, d); // reads back with await data(), never dataSync
  expect(relativeError(ours.y, ref.y)).toBeLessThan(WEBGPU_TOLERANCE);
  expect(relativeError(ours.dx, ref.dx)).toBeLessThan(WEBGPU_TOLERANCE);
  expect(relativeError(ours.dw, ref.dw)).toBeLessThan(WEBGPU_TOLERANCE);
}

// With our WGSL kernels installed (initNodeBackend does), conv2d's gradients at dilation 1 run
// our Conv2DBackpropFilter / Conv2DBackpropInput GEMMs; at dilation > 1 the forward-conv path.
describe(`conv2d on webgpu: gradients equal tfjs’ own on cpu within ${WEBGPU_TOLERANCE}`, () => {
  for (const c of CONV_CASES) it(caseName(c), () => expectConvAgrees(c), 20_000);
});

// Without our conv2d gradient kernels the forward-conv path runs on webgpu too, its filters
// rearranged by tensor ops (on wasm and cpu they are rearranged in JavaScript).
describe(`conv2d on webgpu without our gradient kernels (the forward-conv path): within ${WEBGPU_TOLERANCE} of cpu`, () => {
  // 3×3 at stride 1, and at stride 2: phases as channels (even sizes, PyTorch padding 1) and per phase (odd sizes).
  for (const c of CONV_CASES.slice(0, 6)) {
    it(
      caseName(c),
      async () => {
        useWebGpuKernels(WEBGPU_KERNEL_GROUPS.filter((g) => g !== 'conv2dBackpropFilter' && g !== 'conv2dBackpropInput'));
        try {
          await expectConvAgrees(c);
        } finally {
          useWebGpuKernels('all');
        }
      },
      20_000,
    );
  }
});

describe(`maxPool on webgpu: gradient equals tfjs’ own on cpu within ${WEBGPU_TOLERANCE}`, () => {
  for (const [k, s, pad] of [
    [3, 2, 'same'],
    [2, 2, 'valid'],
  ] as const) {
    it(`x=[2,9,9,4] k=${k} s=${s} ${pad} (signed input)`, async () => {
      const x = randomNormal(2 * 9 * 9 * 4, 31);
      const outShape = tf.tidy(() => tf.maxPool(tf.zeros([2, 9, 9, 4]) as Tensor4D, k, s, pad).shape);
      const r = randomNormal(outShape.reduce((a, b) => a * b, 1), 32);
      const grad = async (pool: (a: Tensor4D) => Tensor): Promise<Float32Array> => {
        const g = tf.tidy(() => {
          const rt = tf.tensor(r, outShape);
          return tf.grad((a: Tensor) => tf.sum(tf.mul(pool(a as Tensor4D), rt)))(tf.tensor4d(x, [2, 9, 9, 4]));
        });
        const out = (await g.data()) as Float32Array;
        g.dispose();
        return out;
      };
      await tf.setBackend('cpu');
      const ref = await grad((a) => tf.maxPool(a, k, s, pad));
      await tf.setBackend('webgpu');
      const got = await grad((a) => maxPool(a, k, s, pad));
      expect(relativeError(got, ref)).toBeLessThan(WEBGPU_TOLERANCE);
    }, 20_000);
  }
});

/**
 * The 3D networks (issue 15's proxy tasks, CSPR, the 3D U-Net) on webgpu: our conv3d (with our
 * WGSL kernels: tfjs' conv3d and its gradients, which are then our implicit GEMMs) and maxPool3d, forward and both gradients, against
 * tfjs' own kernels on cpu.
 */
describe(`conv3d and maxPool3d on webgpu: forward and gradients equal tfjs’ own on cpu within ${WEBGPU_TOLERANCE}`, () => {
  const cases: { x: [number, number, number, number, number]; f: [number, number, number, number, number]; stride: Stride3D; pad: Pad3D }[] = [
    { x: [2, 5, 6, 7, 2], f: [3, 3, 3, 2, 3], stride: 1, pad: 1 },
    { x: [1, 6, 6, 6, 3], f: [3, 3, 3, 3, 4], stride: 2, pad: 'same' },
    // no stride along depth (CSPR's 3D ResNet)
    { x: [2, 3, 8, 7, 2], f: [3, 3, 3, 2, 3], stride: [1, 2, 2], pad: 1 },
  ];
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  /** y = op(x, w) and the gradients of Σ r ⊙ y for a fixed r, read back asynchronously. */
  const grads = async (c: (typeof cases)[number], op: (x: Tensor5D, w: Tensor5D) => Tensor5D) => {
    const out = tf.tidy(() => {
      const x = tf.tensor5d(randomNormal(size(c.x), 41), c.x);
      const w = tf.tensor5d(randomNormal(size(c.f), 42), c.f);
      const y = op(x, w);
      const r = tf.tensor(randomNormal(y.size, 43), y.shape);
      const [dx, dw] = tf.grads((a: Tensor, b: Tensor) => tf.sum(tf.mul(op(a as Tensor5D, b as Tensor5D), r)))([x, w]);
      return [y, dx!, dw!];
    });
    const [y, dx, dw] = (await Promise.all(out.map((t) => t.data()))) as Float32Array[];
    tf.dispose(out);
    return { y: y!, dx: dx!, dw: dw! };
  };
  for (const c of cases) {
    it(`x [${c.x}] f [${c.f}] stride ${String(c.stride)} pad ${c.pad}`, async () => {
      await tf.setBackend('cpu');
      // @ts-expect-error tfjs types pad as 'same' | 'valid'; its conv geometry takes a number
      const ref = await grads(c, (x, w) => tf.conv3d(x, w, c.stride as [number, number, number], c.pad));
      await tf.setBackend('webgpu');
      const got = await grads(c, (x, w) => conv3d(x, w, c.stride, c.pad));
      expect(relativeError(got.y, ref.y)).toBeLessThan(WEBGPU_TOLERANCE);
      expect(relativeError(got.dx, ref.dx)).toBeLessThan(WEBGPU_TOLERANCE);
      expect(relativeError(got.dw, ref.dw)).toBeLessThan(WEBGPU_TOLERANCE);
    }, 30_000);
  }
  it('maxPool3d 2×2×2, stride 2: the gradient routes to the maxima as on cpu', async () => {
    const shape = [2, 6, 6, 6, 3] as const;
    const x = randomNormal(size(shape), 51);
    const grad = async (pool: (a: Tensor5D) => Tensor) => {
      const g = tf.tidy(() => {
        const probe = pool(tf.zeros([...shape]) as Tensor5D);
        const r = tf.tensor(randomNormal(probe.size, 52), probe.shape);
        return tf.grad((a: Tensor) => tf.sum(tf.mul(pool(a as Tensor5D), r)))(tf.tensor5d(x, [...shape]));
      });
      const out = (await g.data()) as Float32Array;
      g.dispose();
      return out;
    };
    await tf.setBackend('cpu');
    const ref = await grad((a) => tf.maxPool3d(a, 2, 2, 'valid'));
    await tf.setBackend('webgpu');
    const got = await grad((a) => maxPool3d(a, 2, 2, 'valid'));
    expect(relativeError(got, ref)).toBeLessThan(WEBGPU_TOLERANCE);
  }, 30_000);
});
