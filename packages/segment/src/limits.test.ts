import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { registerNodeGradients } from '@tomosort/backend/node';
import { createModel, encoderSpec, unetModelSpec } from '@tomosort/models';
import { asTrainable, train } from '@tomosort/train';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkFinetuneSettings, finetuneMemoryBytes } from './limits';
import { segmentationTask } from './task';
import { NO_AUGMENTATION } from '@tomosort/pretext';

beforeAll(async () => {
  await registerNodeGradients();
  await tf.setBackend('cpu');
});

const ok = { size: 64, batch: 8, frozenSteps: 50, steps: 200, spec: unetModelSpec(encoderSpec('small'), { classes: 3 }) };

describe('checkFinetuneSettings', () => {
  it.each([
    [{ size: 7 }, 'input size 7 is outside 16–512 pixels'],
    [{ size: 100_000 }, 'input size 100000 is outside 16–512 pixels'],
    [{ steps: 1_000_000 }, 'steps 1000000 must be a whole number from 0 to 100,000'],
    [{ frozenSteps: -1 }, 'warm-up steps -1 must be a whole number from 0 to 100,000'],
    [{ batch: 0 }, 'batch 0 must be a whole number ≥ 1'],
  ])('%o → "%s"', (change, message) => {
    expect(() => checkFinetuneSettings({ ...ok, ...change })).toThrow(message);
  });
  it('accepts the defaults, and refuses what would not fit the memory limit, saying the size that fits', () => {
    expect(() => checkFinetuneSettings({ ...ok, memoryLimitBytes: 4 * 2 ** 30 })).not.toThrow();
    expect(() => checkFinetuneSettings({ ...ok, spec: unetModelSpec(encoderSpec('resnet18'), { classes: 3 }), size: 512, batch: 8, memoryLimitBytes: 4 * 2 ** 30 })).toThrow(
      /^a step at 512² with batch 8 needs about \d+\.\d GB, more than the 4\.0 GB this backend holds: use size ≤ \d+ or a smaller batch$/,
    );
  });
});

describe('finetuneMemoryBytes against a measured step (cpu backend, small U-Net, 48², batch 2 — a size the figures were not taken at)', () => {
  it('the composite-op estimate covers the tf.memory peak, and the native one does not (cpu keeps the intermediates)', async () => {
    const size = 48;
    const batch = 2;
    const spec = unetModelSpec(encoderSpec('small'), { classes: 3 });
    const model = createModel(spec, { seed: 0 });
    const images = new Float32Array(3 * size * size).map((_, i) => (i % 97) - 48);
    const targets = new Int32Array(3 * size * size).map((_, i) => i % 3);
    const task = segmentationTask([{ id: 'x', size, slices: [0, 1, 2], images, targets }] as never, { batch, window: { center: 0, width: 400 }, augmentation: NO_AUGMENTATION });
    const base = tf.memory().numBytes;
    const info = await tf.profile(async () => {
      await train({ model: asTrainable(model), task, config: { method: { kind: 'task', name: 'ft', slicesPerStep: batch, settings: {} }, steps: 2, learningRate: 1e-3, optimizer: { kind: 'adam' }, schedule: { kind: 'constant' }, window: { center: 0, width: 400 }, seed: 0, checkpointEvery: 0 } });
    });
    model.dispose();
    const measured = info.peakBytes - base;
    const native = finetuneMemoryBytes(spec, size, batch, true);
    const composite = finetuneMemoryBytes(spec, size, batch, false);
    expect(measured).toBeGreaterThan(native);
    expect(measured).toBeLessThan(composite);
  });
});
