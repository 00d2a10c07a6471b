import '@tensorflow/tfjs-backend-cpu';
import { registerNodeGradients } from '@tomosort/backend/node';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareVolume } from '@tomosort/pretext';
import { phantomSubject } from '@tomosort/samples';
import { MemoryCheckpointStore } from './checkpoint';
import type { TrainEvent } from './events';
import { train } from './loop';
import type { TrainConfig } from './loop';
import { tinyConvNet } from './testing';

beforeAll(async () => {
  await registerNodeGradients();
  await tf.setBackend('cpu');
});

const volumes = [0, 1].map((i) => prepareVolume(`p${i}`, phantomSubject(i, 0, { size: 32 }).volume, { plane: 'axial', size: 16 }));
const config = (steps: number, method: TrainConfig['method'] = { kind: 'sorting', volumesPerBatch: 2, slicesPerVolume: 4, gapMm: [10, 30] }): TrainConfig => ({
  method,
  steps,
  learningRate: 0.01,
  optimizer: { kind: 'adam' },
  schedule: { kind: 'cosine', warmupSteps: 2 },
  clipNorm: 5,
  window: { center: 0, width: 2000 },
  seed: 42,
  checkpointEvery: 3,
});
const weights = async (m: ReturnType<typeof tinyConvNet>) =>
  Promise.all(Object.values(m.state).map(async (v) => [...((await v.data()) as Float32Array)]));

describe('train (loop) with a tiny net on phantom slices', () => {
  it('runs 6 sorting steps with flat tensor count, step events and checkpoints at 3 and 6', async () => {
    const events: TrainEvent[] = [];
    const model = tinyConvNet(1);
    const before = tf.memory().numTensors;
    const r = await train({ model, volumes, config: config(6), store: new MemoryCheckpointStore(), onEvent: (e) => events.push(e) });
    expect(r.status).toBe('finished');
    expect(r.losses).toHaveLength(6);
    const steps = events.filter((e) => e.type === 'step');
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6]);
    // Only the optimiser's slots (created at step 1 and disposed at the end) may come and go.
    const counts = new Set(steps.slice(1).map((e) => e.numTensors));
    expect(counts.size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    expect(events.filter((e) => e.type === 'checkpoint').map((e) => e.step)).toEqual([3, 6]);
    expect(events.at(-1)).toMatchObject({ type: 'done', status: 'finished', step: 6 });
  });

  it('readEvery 4: the same losses, weights, step events and checkpoints as reading every step; no tensor left over', async () => {
    const every = tinyConvNet(1, 5);
    const evEvery: TrainEvent[] = [];
    const a = await train({ model: every, volumes, config: config(7), store: new MemoryCheckpointStore(), onEvent: (e) => evEvery.push(e) });
    const batched = tinyConvNet(1, 5);
    const evBatched: TrainEvent[] = [];
    const before = tf.memory().numTensors;
    const b = await train({ model: batched, volumes, config: config(7), store: new MemoryCheckpointStore(), readEvery: 4, onEvent: (e) => evBatched.push(e) });
    expect(b.losses).toEqual(a.losses);
    expect(await weights(batched)).toEqual(await weights(every));
    const pick = (ev: TrainEvent[]) => ev.filter((e) => e.type === 'step' || e.type === 'checkpoint').map((e) => (e.type === 'step' ? [e.step, e.loss, e.lr, e.gradNorm] : ['checkpoint', e.step]));
    expect(pick(evBatched)).toEqual(pick(evEvery));
    expect(tf.memory().numTensors).toBe(before);
    // A checkpoint every 3 steps reads at 3 and 6 as well as at 4-step blocks: blocks [1–3], [4–6], [7].
    const ms = evBatched.filter((e) => e.type === 'step').map((e) => (e.type === 'step' ? e.ms : 0));
    expect(ms[0]).toBe(ms[2]);
    expect(ms[3]).toBe(ms[5]);
  });

  it('readEvery must be a positive integer', async () => {
    await expect(train({ model: tinyConvNet(1), volumes, config: config(2), readEvery: 0 })).rejects.toThrow(/readEvery must be a positive integer, got 0/);
  });

  it('a run stopped at step 3 and resumed ends with the same weights as an uninterrupted run', async () => {
    const straight = tinyConvNet(1, 7);
    await train({ model: straight, volumes, config: config(6) });

    const store = new MemoryCheckpointStore();
    const first = tinyConvNet(1, 7);
    const controller = new AbortController();
    const cut = await train({
      model: first,
      volumes,
      config: config(6),
      store,
      signal: controller.signal,
      onEvent: (e) => e.type === 'step' && e.step === 3 && controller.abort(),
    });
    expect(cut).toMatchObject({ status: 'cancelled', step: 3 });

    const resumed = tinyConvNet(1, 99); // different init: everything must come from the checkpoint
    const rest = await train({ model: resumed, volumes, config: config(6), store, resume: true });
    expect(rest.step).toBe(6);
    expect(rest.losses).toHaveLength(3);
    expect(await weights(resumed)).toEqual(await weights(straight));
  });

  it('a cancel that arrives as a message (a macrotask, as a Web Worker receives it) stops the run within one step', async () => {
    // A worker's onmessage only runs when the loop yields to the event loop; `await data()`
    // alone settles on microtasks on cpu and wasm, so the loop must yield each step.
    const controller = new AbortController();
    const steps: number[] = [];
    const t0 = performance.now();
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = steps.length;
      controller.abort();
    }, 50);
    const r = await train({ model: tinyConvNet(1), volumes, config: config(100_000), signal: controller.signal, onEvent: (e) => e.type === 'step' && steps.push(e.step) });
    expect(r.status).toBe('cancelled');
    expect(abortedAt).toBeGreaterThan(0);
    expect(r.step - abortedAt).toBeLessThanOrEqual(1);
    expect(performance.now() - t0).toBeLessThan(60_000);
  });

  it('refuses to resume a checkpoint made with other settings', async () => {
    const store = new MemoryCheckpointStore();
    await train({ model: tinyConvNet(1), volumes, config: config(2), store });
    await expect(train({ model: tinyConvNet(1), volumes, config: { ...config(2), learningRate: 1 }, store, resume: true })).rejects.toThrow(
      /checkpoint was made with different settings/,
    );
  });

  it.each([
    ['simclr', { kind: 'simclr', slices: 4 }],
    ['barlow', { kind: 'barlow', slices: 4 }],
  ] as const)('%s runs and gives finite losses', async (_name, method) => {
    const r = await train({ model: tinyConvNet(8), volumes, config: config(2, method) });
    expect(r.losses.every(Number.isFinite)).toBe(true);
  });
});
