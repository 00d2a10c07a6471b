import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '@tomosort/backend/node';
import { describe, expect, it } from 'vitest';
import { createModel, projectionModelSpec, unetModelSpec } from './model';
import type { ModelSpec } from './model';
import { encoderSpec } from './resnet';

/** Builds `spec` with `seed` on `backend` and returns every variable's values and the inference output. */
async function buildOn(backend: 'cpu' | 'wasm', spec: ModelSpec, seed: number) {
  await initNodeBackend(backend);
  expect(tf.getBackend()).toBe(backend);
  const m = createModel(spec, { seed });
  const weights = Object.fromEntries((await m.params.read()).map((a) => [a.name, a.values.slice()]));
  const y = m.apply(tf.tensor4d(Float32Array.from({ length: 2 * 16 * 16 }, (_, i) => Math.sin(i)), [2, 16, 16, 1]), { training: false });
  const out = (await y.data()).slice();
  y.dispose();
  m.dispose();
  return { weights, out };
}

describe('across backends (cpu, wasm)', () => {
  it.each([
    ['projection', projectionModelSpec(encoderSpec('small'), { out: 8 })],
    ['unet', unetModelSpec(encoderSpec('small'), { classes: 2 })],
  ] as const)('%s, seed 12: bit-identical initial weights; inference outputs agree within 1e-4', async (_, spec) => {
    const cpu = await buildOn('cpu', spec, 12);
    const wasm = await buildOn('wasm', spec, 12);
    expect(Object.keys(wasm.weights)).toEqual(Object.keys(cpu.weights));
    for (const name of Object.keys(cpu.weights)) expect(wasm.weights[name]).toEqual(cpu.weights[name]);
    const scale = Math.max(...cpu.out.map(Math.abs));
    cpu.out.forEach((v, i) => expect(Math.abs(wasm.out[i]! - v)).toBeLessThan(1e-4 * Math.max(1, scale)));
  });
});
