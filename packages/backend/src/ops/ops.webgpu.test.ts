import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendInfo } from '../backends';
import { initNodeBackend } from '../node';
import { CONV_CASES, caseData, caseName, ourGrads, randomNormal, relativeError, stockGrads } from '../testing/conv2dCases';
import { maxPool } from './maxPool';

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

describe(`conv2d on webgpu: gradients equal tfjs’ own on cpu within ${WEBGPU_TOLERANCE}`, () => {
  for (const c of CONV_CASES) {
    it(
      caseName(c),
      async () => {
        const d = caseData(c);
        await tf.setBackend('cpu');
        const ref = await stockGrads(c, d);
        await tf.setBackend('webgpu');
        const ours = await ourGrads(c, d); // reads back with await data(), never dataSync
        expect(relativeError(ours.y, ref.y)).toBeLessThan(WEBGPU_TOLERANCE);
        expect(relativeError(ours.dx, ref.dx)).toBeLessThan(WEBGPU_TOLERANCE);
        expect(relativeError(ours.dw, ref.dw)).toBeLessThan(WEBGPU_TOLERANCE);
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
