import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor5D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../node';
import { conv3d } from './conv3d';
import type { Pad3D, Stride3D } from './conv3d';

beforeAll(async () => {
  await initNodeBackend('cpu');
  await initNodeBackend('wasm');
});

interface Case {
  readonly x: [number, number, number, number, number];
  readonly f: [number, number, number, number, number];
  readonly stride: Stride3D;
  readonly pad: Pad3D;
}
const CASES: Case[] = [
  { x: [2, 5, 6, 7, 2], f: [3, 3, 3, 2, 3], stride: 1, pad: 1 },
  { x: [2, 5, 6, 7, 2], f: [3, 3, 3, 2, 3], stride: 2, pad: 1 },
  { x: [1, 6, 6, 6, 1], f: [3, 3, 3, 1, 2], stride: 2, pad: 'same' },
  { x: [2, 4, 5, 4, 3], f: [1, 1, 1, 3, 2], stride: 2, pad: 0 },
  { x: [1, 9, 9, 9, 1], f: [7, 7, 7, 1, 2], stride: 2, pad: 3 },
  { x: [1, 6, 7, 6, 2], f: [3, 3, 3, 2, 2], stride: 1, pad: 'valid' },
  // no stride along depth (CSPR's 3D ResNet)
  { x: [2, 3, 8, 7, 2], f: [3, 3, 3, 2, 3], stride: [1, 2, 2], pad: 1 },
  { x: [1, 3, 9, 9, 1], f: [7, 7, 7, 1, 2], stride: [1, 2, 2], pad: 3 },
];
const name = (c: Case) => `x [${c.x}] f [${c.f}] stride ${String(c.stride)} pad ${c.pad}`;
const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.37 + seed) * 1.5);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** L = Σ dy ⊙ conv(x, w) for a fixed dy, and its gradients [dx, dw]. */
function grads(c: Case, op: (x: Tensor5D, w: Tensor5D) => Tensor5D): { y: Float32Array; dx: Float32Array; dw: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor5d(values(size(c.x), 1), c.x);
    const w = tf.tensor5d(values(size(c.f), 2), c.f);
    const y = op(x, w);
    const dy = tf.tensor(values(y.size, 3), y.shape);
    const [dx, dw] = tf.grads((a: Tensor, b: Tensor) => tf.sum(tf.mul(op(a as Tensor5D, b as Tensor5D), dy)))([x, w]);
    return { y: y.dataSync() as Float32Array, dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array };
  });
}
const ours = (c: Case) => grads(c, (x, w) => conv3d(x, w, c.stride, c.pad));
// @ts-expect-error tfjs types pad as 'same' | 'valid'; its conv geometry takes a number
const stock = (c: Case) => grads(c, (x, w) => tf.conv3d(x, w, c.stride as [number, number, number], c.pad));
const worst = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0) / Math.max(1, ...b.map(Math.abs));

describe('conv3d gradients (forward-conv input gradient) against finite differences, on cpu', () => {
  it.each(CASES.map((c) => [name(c), c] as const))('%s', async (_n, c) => {
    await tf.setBackend('cpu');
    const g = ours(c);
    // L is linear in x (and in w): a central difference with step 1 is exact up to rounding.
    const loss = (xv: Float32Array, wv: Float32Array) =>
      tf.tidy(() => {
        const y = conv3d(tf.tensor5d(xv, c.x), tf.tensor5d(wv, c.f), c.stride, c.pad);
        return tf.sum(tf.mul(y, tf.tensor(values(y.size, 3), y.shape))).dataSync()[0]!;
      });
    const x = values(size(c.x), 1);
    const w = values(size(c.f), 2);
    const probe = (n: number) => [0, Math.floor(n / 3), Math.floor(n / 2), n - 1];
    for (const k of probe(x.length)) {
      const [hi, lo] = [Float32Array.from(x), Float32Array.from(x)];
      hi[k]! += 1;
      lo[k]! -= 1;
      expect(g.dx[k]!).toBeCloseTo((loss(hi, w) - loss(lo, w)) / 2, 3);
    }
    for (const k of probe(w.length)) {
      const [hi, lo] = [Float32Array.from(w), Float32Array.from(w)];
      hi[k]! += 1;
      lo[k]! -= 1;
      expect(g.dw[k]!).toBeCloseTo((loss(x, hi) - loss(x, lo)) / 2, 3);
    }
    // and every element as tfjs' own cpu kernels
    const s = stock(c);
    expect(worst(g.dx, s.dx)).toBeLessThan(1e-5);
    expect(worst(g.dw, s.dw)).toBeLessThan(1e-5);
  });
});

describe('conv3d on wasm: value and gradients as on cpu within 1e-5 (relative to the largest)', () => {
  it.each(CASES.map((c) => [name(c), c] as const))('%s', async (_n, c) => {
    await tf.setBackend('cpu');
    const ref = stock(c);
    await tf.setBackend('wasm');
    const g = ours(c);
    expect(worst(g.y, ref.y)).toBeLessThan(1e-5);
    expect(worst(g.dx, ref.dx)).toBeLessThan(1e-5);
    expect(worst(g.dw, ref.dw)).toBeLessThan(1e-5);
  });

  it('why: tfjs-backend-wasm’s own Conv3DBackpropInputV2 is wrong once the filter has two output channels', async () => {
    const c: Case = { x: [1, 4, 4, 4, 1], f: [3, 3, 3, 1, 2], stride: 1, pad: 'same' };
    await tf.setBackend('cpu');
    const ref = stock(c);
    await tf.setBackend('wasm');
    expect(worst(stock(c).dx, ref.dx)).toBeGreaterThan(0.1);
    expect(worst(ours(c).dx, ref.dx)).toBeLessThan(1e-5);
  });

  it('why: and its Conv3DBackpropFilterV2 is wrong at stride 2', async () => {
    const c: Case = { x: [2, 4, 5, 4, 3], f: [1, 1, 1, 3, 2], stride: 2, pad: 0 };
    await tf.setBackend('cpu');
    const ref = stock(c);
    await tf.setBackend('wasm');
    expect(worst(stock(c).dw, ref.dw)).toBeGreaterThan(0.1);
    expect(worst(ours(c).dw, ref.dw)).toBeLessThan(1e-5);
  });
});
