import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../node';
import { randomNormal, relativeError } from '../testing/conv2dCases';
import { adamUpdate } from './adamUpdate';

beforeAll(async () => {
  await initNodeBackend('cpu');
  await initNodeBackend('wasm');
});

describe('adamUpdate without a fused kernel', () => {
  // Small variables take the update in JavaScript on wasm (float64, then float32), large ones the
  // stock ops; cpu is always the stock ops: the same step within float32 rounding.
  it.each([
    { shape: [3, 3, 8, 16], js: true },
    { shape: [3, 3, 32, 32], js: false },
  ])('wasm, variable $shape (in JavaScript: $js): 3 steps as the stock ops on cpu', async (c) => {
    const n = c.shape.reduce((a, b) => a * b);
    const run = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      let state = { variable: tf.tensor(randomNormal(n, 1), c.shape), m: tf.zeros(c.shape), s: tf.zeros(c.shape) };
      let kernels: string[] = [];
      for (const step of [1, 2, 3]) {
        const g = tf.tensor(randomNormal(n, 10 + step), c.shape);
        const info = await tf.profile(() => {
          state = adamUpdate(state.variable, state.m, state.s, g, { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step, weightDecay: 0.01 });
        });
        kernels = info.kernelNames;
      }
      return { v: state.variable.dataSync() as Float32Array, s: state.s.dataSync() as Float32Array, kernels };
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(relativeError(wasm.v, cpu.v)).toBeLessThan(1e-6);
    expect(relativeError(wasm.s, cpu.s)).toBeLessThan(1e-6);
    // In JavaScript no kernel runs (the values are read and the results written as new tensors).
    expect(wasm.kernels.includes('Sqrt')).toBe(!c.js);
    expect(cpu.kernels).toContain('Sqrt');
  });
});
