import '@tensorflow/tfjs-backend-cpu';
import { registerNodeGradients } from '@tomosort/backend/node';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Optimizer, clipByGlobalNorm } from './optimizer';

beforeAll(async () => {
  await registerNodeGradients();
  await tf.setBackend('cpu');
});

describe('Optimizer', () => {
  it('Adam step 1 moves each weight by lr·sign(g) (m̂ = g, v̂ = g²): w=[1,−2], g=[0.5,−4], lr 0.1 → [0.9, −1.9]', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const opt = new Optimizer({ kind: 'adam', epsilon: 0 });
    opt.apply({ w }, { w: tf.tensor1d([0.5, -4]) }, 0.1);
    const got = [...w.dataSync()];
    expect(got[0]).toBeCloseTo(0.9, 6);
    expect(got[1]).toBeCloseTo(-1.9, 6);
  });

  it('SGD momentum 0.9: two steps of g = 1 at lr 0.1 move 0.1 then 0.19', () => {
    const w = tf.variable(tf.scalar(0));
    const opt = new Optimizer({ kind: 'sgd', momentum: 0.9 });
    opt.apply({ w }, { w: tf.scalar(1) }, 0.1);
    expect(w.dataSync()[0]).toBeCloseTo(-0.1, 6);
    opt.apply({ w }, { w: tf.scalar(1) }, 0.1);
    expect(w.dataSync()[0]).toBeCloseTo(-0.29, 6);
  });

  it('state saved after 2 Adam steps and restored gives the same 3rd step', async () => {
    const run = () => tf.variable(tf.tensor1d([0.3, -0.7, 2]));
    const g = () => tf.tensor1d([0.1, 0.2, -0.3]);
    const a = run();
    const oa = new Optimizer({ kind: 'adam', weightDecay: 0.01 });
    oa.apply({ a }, { a: g() }, 0.01);
    oa.apply({ a }, { a: g() }, 0.01);
    const state = await oa.getState();
    const b = tf.variable(a.clone());
    const ob = new Optimizer({ kind: 'adam', weightDecay: 0.01 });
    ob.setState({ ...state, slots: { b: state.slots.a! } }, { b });
    oa.apply({ a }, { a: g() }, 0.01);
    ob.apply({ b }, { b: g() }, 0.01);
    expect([...b.dataSync()]).toEqual([...a.dataSync()]);
  });
});

describe('clipByGlobalNorm', () => {
  it('g = {a: [3], b: [4]} (norm 5) clipped to 1 gives [0.6], [0.8]', () => {
    const { grads, norm } = clipByGlobalNorm({ a: tf.tensor1d([3]), b: tf.tensor1d([4]) }, 1);
    expect(norm.dataSync()[0]).toBeCloseTo(5, 6);
    expect(grads.a!.dataSync()[0]).toBeCloseTo(0.6, 6);
    expect(grads.b!.dataSync()[0]).toBeCloseTo(0.8, 6);
  });
  it('leaves gradients under the limit unchanged', () => {
    const { grads } = clipByGlobalNorm({ a: tf.tensor1d([0.3, 0.4]) }, 1);
    expect([...grads.a!.dataSync()].map((x) => +x.toFixed(6))).toEqual([0.3, 0.4]);
  });
});
