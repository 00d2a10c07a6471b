import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNativeBackend } from '@tomosort/native';
import { createModel, encoderSpec, scoreModelSpec, unetFromEncoder } from '@tomosort/models';
import type { Model } from '@tomosort/models';
import { SORTING_AUGMENTATION, loadPrepared, phantomSources } from '@tomosort/pretext';
import { phantomSubject } from '@tomosort/samples';
import { asTrainable, train } from '@tomosort/train';
import { dicePerClass, finetune, predictVolume, prepareAnnotation } from './index';

// Whether SortingLoss pre-training beats scratch is not asserted here: at this size the paired
// difference over decoder seeds is too small and too noisy for a test to settle (the numbers are
// in the commit that rewrote this file). `tomosort experiment` reports it, with intervals.

beforeAll(async () => {
  // The product's default backend (one thread under the test suite's TOMOSORT_THREADS=1).
  await initNativeBackend();
});

type Snapshot = Record<string, Float32Array>;
const snapshot = (vars: Readonly<Record<string, tf.Variable>>, prefix: string): Snapshot =>
  Object.fromEntries(Object.entries(vars).filter(([n]) => n.startsWith(prefix)).map(([n, v]) => [n, Float32Array.from(v.dataSync())]));
/** Names of the variables of `a` whose values differ in `b`. */
const changed = (a: Snapshot, b: Snapshot): string[] => Object.keys(a).filter((n) => a[n]!.some((x, i) => x !== b[n]![i]));

describe('sparse-slice fine-tuning from a SortingLoss encoder (small ResNet, native, 32²)', () => {
  const window = { center: 40, width: 400 };
  const size = 32;
  let pretrained: Model;
  let initial: Snapshot;

  beforeAll(async () => {
    pretrained = createModel(scoreModelSpec(encoderSpec('small')), { seed: 1 });
    initial = snapshot(pretrained.params.state, 'encoder/');
    await train({
      model: asTrainable(pretrained),
      volumes: await loadPrepared(phantomSources({ subjects: 24, seed: 0 }), { plane: 'axial', size }),
      config: {
        method: { kind: 'sorting', volumesPerBatch: 4, slicesPerVolume: 8, gapMm: [5, 40], augmentation: SORTING_AUGMENTATION },
        steps: 40,
        learningRate: 3e-3,
        optimizer: { kind: 'adam' },
        schedule: { kind: 'cosine', warmupSteps: 10 },
        clipNorm: 5,
        window,
        seed: 0,
        checkpointEvery: 0,
      },
    });
  }, 120_000);
  afterAll(() => pretrained.dispose());

  it('starts from the pre-trained encoder, keeps it through the frozen warm-up, then trains it; the source stays as it was', async () => {
    const source = snapshot(pretrained.params.state, 'encoder/');
    expect(changed(initial, source).length).toBeGreaterThan(0); // pre-training moved the encoder
    const unet = unetFromEncoder(pretrained, { classes: 3, seed: 2 });
    expect(changed(source, snapshot(unet.params.state, 'encoder/'))).toEqual([]); // every weight and BN statistic copied

    const weights = snapshot(unet.params.trainable, 'encoder/');
    let afterWarmUp: Snapshot | undefined;
    const subject = phantomSubject(1, 1);
    const data = [prepareAnnotation({ id: subject.id, volume: subject.volume, labels: subject.labels, slices: [10, 30, 50] }, size, [{ value: 6, name: 'lungs' }, { value: 7, name: 'heart' }])];
    await finetune({
      model: asTrainable(unet),
      data,
      config: { window, batch: 4, frozenSteps: 3, steps: 2, learningRate: 3e-3, seed: 0 },
      onEvent: (phase, e) => {
        if (phase === 'full' && e.type === 'start') afterWarmUp = snapshot(unet.params.trainable, 'encoder/');
      },
    });
    expect(afterWarmUp && changed(weights, afterWarmUp)).toEqual([]);
    expect(changed(weights, snapshot(unet.params.trainable, 'encoder/')).length).toBeGreaterThan(0);
    expect(changed(source, snapshot(pretrained.params.state, 'encoder/'))).toEqual([]);
    unet.dispose();
  });

  // Measured with this set-up over decoder seeds 0–9 (held-out slices): lungs 0.828–0.876,
  // heart 0.646–0.803. Liver is not a class: subject (1, 1) ends above it, and a class absent
  // from the volume scores 1 or 0 by whether a single stray voxel is predicted.
  it('segments the held-out slices of a new subject annotated on 5 slices: lungs and heart Dice ≥ 0.5 (decoder seed 2)', async () => {
    const subject = phantomSubject(1, 1); // another cohort seed: never seen in pre-training
    const classes = [
      { value: 6, name: 'lungs' },
      { value: 7, name: 'heart' },
    ];
    const nz = subject.volume.dims[2];
    const annotated = [0.1, 0.3, 0.5, 0.7, 0.9].map((f) => Math.round(f * (nz - 1)));
    const heldOut = [...Array(nz).keys()].filter((k) => !annotated.includes(k));
    const data = [prepareAnnotation({ id: subject.id, volume: subject.volume, labels: subject.labels, slices: annotated }, size, classes)];
    const tensors = tf.memory().numTensors;
    const unet = unetFromEncoder(pretrained, { classes: classes.length + 1, seed: 2 });
    const net = asTrainable(unet);
    await finetune({ model: net, data, config: { window, batch: 8, frozenSteps: 60, steps: 40, learningRate: 3e-3, seed: 0 } });
    const dice = dicePerClass(await predictVolume(net, subject.volume, { size, window, classes }), subject.labels, classes, heldOut);
    unet.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(Object.entries(dice).filter(([, d]) => !(d >= 0.5))).toEqual([]);
  }, 120_000);
});
