import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '@tomosort/backend/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { forwardCost } from './cost';
import { SpecError } from './errors';
import { Gru } from './layers';
import { classifierModelSpec, cpcModelSpec, createModel, validateModelSpec } from './model';
import { Params } from './params';
import { encoderSpec } from './resnet';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const paramCount = (p: Params) => Object.values(p.trainable).reduce((n, v) => n + v.size, 0);

describe('Gru', () => {
  it('one step matches the gate equations computed by hand from its weights (PyTorch layout r, z, n)', () => {
    const params = new Params(4, { initialise: true, convGradients: 'fast' });
    const gru = new Gru(params, 'g', 2, 3);
    const [wi, wh, bi, bh] = ['g/wi', 'g/wh', 'g/bi', 'g/bh'].map((n) => params.trainable[n]!.dataSync()) as Float32Array[];
    const x = [0.5, -1.5];
    const h = [0.2, -0.1, 0.7];
    const gate = (col: number, input: readonly number[], w: Float32Array, b: Float32Array) => input.reduce((s, v, i) => s + v * w[i * 9 + col]!, b[col]!);
    const expected = [0, 1, 2].map((j) => {
      const r = sigmoid(gate(j, x, wi!, bi!) + gate(j, h, wh!, bh!));
      const z = sigmoid(gate(3 + j, x, wi!, bi!) + gate(3 + j, h, wh!, bh!));
      const n = Math.tanh(gate(6 + j, x, wi!, bi!) + r * gate(6 + j, h, wh!, bh!));
      return (1 - z) * n + z * h[j]!;
    });
    const got = tf.tidy(() => gru.step(tf.tensor2d([x]), tf.tensor2d([h])).dataSync());
    [...got].forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, 5));
    params.dispose();
  });
});

describe('proxy-task models (3D unet-down encoder, cubes of 8³)', () => {
  const encoder = encoderSpec('unet-down', { dims: 3 });
  const cubes = (n: number, seed: number) => tf.randomNormal([n, 8, 8, 8, 1], 0, 1, 'float32', seed) as tf.Tensor5D;

  it('classifier: [N·K, …] → [N, classes]; sample n’s logits depend on its own patches, in order', () => {
    const model = createModel(classifierModelSpec(encoder, { patches: 2, classes: 26, hidden: 32 }), { seed: 2 });
    expect(paramCount(model.params)).toBe(forwardCost(model.spec, 8).params);
    tf.tidy(() => {
      const x = cubes(6, 1); // 3 samples × 2 patches
      const y = model.apply(x, { training: false });
      expect(y.shape).toEqual([3, 26]);
      // swap the two patches of sample 1: only its row changes
      const swapped = tf.concat([tf.slice(x, [0], [2]), tf.slice(x, [3], [1]), tf.slice(x, [2], [1]), tf.slice(x, [4], [2])]) as tf.Tensor5D;
      const z = model.apply(swapped, { training: false });
      const diff = tf.sum(tf.abs(tf.sub(y, z)), 1).dataSync();
      expect(diff[0]).toBe(0);
      expect(diff[2]).toBe(0);
      expect(diff[1]).toBeGreaterThan(1e-4);
      expect(() => model.apply(cubes(5, 2), { training: false })).toThrow('5 patches are not whole samples of 2');
    });
    model.dispose();
  });

  it('CPC: a row per (sample, column, step) holding [prediction ‖ code of the same column, row contextRows + step]; predictions read only the context rows', () => {
    const g = 2;
    const model = createModel(cpcModelSpec(encoder, { grid: g, contextRows: 1, code: 16 }), { seed: 3 });
    expect(paramCount(model.params)).toBe(forwardCost(model.spec, 8).params);
    tf.tidy(() => {
      const x = cubes(2 * g ** 3, 4); // 2 samples × 8 patches
      const out = model.apply(x, { training: false });
      expect(out.shape).toEqual([2 * g * g * 1, 32]);
      const pooled = model.encode(x as unknown as tf.Tensor4D, { training: false }).pooled;
      const codes = tf.add(tf.matMul(pooled, model.params.trainable['head/code/w']!), model.params.trainable['head/code/b']!).arraySync() as number[][];
      const rows = out.arraySync() as number[][];
      for (let n = 0; n < 2; n++)
        for (let column = 0; column < g * g; column++) {
          const target = rows[n * g * g + column]!.slice(16);
          const expected = codes[n * g ** 3 + 1 * g * g + column]!;
          target.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
        }
      // replacing the predicted row (d = 1) of every sample leaves the predictions alone
      const parts = [0, 1].flatMap((n) => [tf.slice(x, [n * 8], [4]), cubes(4, 10 + n)]);
      const changed = model.apply(tf.concat(parts) as tf.Tensor5D, { training: false }).arraySync() as number[][];
      changed.forEach((r, i) => r.slice(0, 16).forEach((v, j) => expect(v).toBeCloseTo(rows[i]![j]!, 5)));
      expect(Math.abs(changed[0]![16]! - rows[0]![16]!)).toBeGreaterThan(1e-5);
    });
    model.dispose();
  });

  it('refuses bad head specs, saying what is expected', () => {
    expect(() => validateModelSpec({ kind: 'classifier', encoder, head: { patches: 2, hidden: 8, classes: 1 } })).toThrow(SpecError);
    expect(() => validateModelSpec({ kind: 'cpc', encoder, head: { code: 8, grid: 4, contextRows: 4 } })).toThrow('contextRows in [1, grid)');
  });
});
