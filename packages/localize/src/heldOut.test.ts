import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initNativeBackend } from '@tomosort/native';
import { createModel, encoderSpec, scoreModelSpec } from '@tomosort/models';
import type { Model } from '@tomosort/models';
import { SORTING_AUGMENTATION, loadPrepared, phantomSources, prepareVolume } from '@tomosort/pretext';
import { phantomSubject } from '@tomosort/samples';
import { asTrainable, evaluateSorting, train } from '@tomosort/train';
import type { ScoredVolume } from './index';
import { medianStackErrors, scoreVolume, stackLocalizationErrors } from './index';

const WINDOW = { center: 40, width: 400 };
const SIZE = 32;
const STEPS = 1200;

// Held-out subjects: another cohort seed, scans of at least 250 mm (a short scan of the legs has
// too little anatomy along its length for any order to be learnable).
const HELD_OUT = [...Array(16).keys()].filter((n) => {
  const [top, bottom] = phantomSubject(n, 1).zRangeMm;
  return bottom - top >= 250;
});

let model: Model;
let initialRho: number;

beforeAll(async () => {
  // The product's default backend (one thread under the test suite's TOMOSORT_THREADS=1).
  await initNativeBackend();
  model = createModel(scoreModelSpec(encoderSpec('small')), { seed: 1 });
  const net = asTrainable(model);
  const heldOut = await loadPrepared(phantomSources({ subjects: 12, seed: 1 }).filter((_, n) => HELD_OUT.slice(0, 4).includes(n)), { plane: 'axial', size: SIZE });
  initialRho = (await evaluateSorting(net, heldOut, WINDOW)).spearman;
  await train({
    model: net,
    volumes: await loadPrepared(phantomSources({ subjects: 24, seed: 0 }), { plane: 'axial', size: SIZE }),
    config: {
      method: { kind: 'sorting', volumesPerBatch: 4, slicesPerVolume: 8, gapMm: [5, 40], augmentation: SORTING_AUGMENTATION },
      steps: STEPS,
      learningRate: 3e-3,
      optimizer: { kind: 'adam' },
      schedule: { kind: 'cosine', warmupSteps: 10 },
      clipNorm: 5,
      window: WINDOW,
      seed: 0,
      checkpointEvery: 0,
    },
  });
}, 900_000);

describe(`SortingLoss pre-training of the small ResNet on sample:phantom (wasm, ${SIZE}², ${STEPS} steps, window 40/400)`, () => {
  it('raises held-out slice-order Spearman ρ from its value at init (< 0.5) to above 0.9', async () => {
    const heldOut = await loadPrepared(phantomSources({ subjects: 12, seed: 1 }).filter((_, n) => HELD_OUT.slice(0, 4).includes(n)), { plane: 'axial', size: SIZE });
    expect(heldOut).toHaveLength(4);
    const after = await evaluateSorting(asTrainable(model), heldOut, WINDOW);
    console.info(`held-out ρ: init ${initialRho.toFixed(3)} → ${after.spearman.toFixed(3)} (${after.perVolume.map((v) => `${v.id} ${v.spearman.toFixed(2)}`).join(', ')})`);
    expect(Math.abs(initialRho)).toBeLessThan(0.5);
    expect(after.spearman).toBeGreaterThan(0.9);
  });

  it('places held-out stacks of 1, 3 and 10 slices in held-out references within the stated error', async () => {
    const tensors = tf.memory().numTensors;
    const apply = { apply: (x: tf.Tensor4D, training: boolean) => model.apply(x, { training }) };
    const scored: ScoredVolume[] = [];
    for (const n of HELD_OUT.slice(0, 6)) {
      const s = phantomSubject(n, 1, { size: SIZE });
      const prepared = prepareVolume(s.id, s.volume, { plane: 'axial', size: SIZE });
      scored.push({ ...(await scoreVolume(apply, prepared, WINDOW)), spacingMm: prepared.spacingMm, scale: 1 / s.params.height });
    }
    expect(tf.memory().numTensors).toBe(tensors);
    const errors = stackLocalizationErrors(scored, { stacks: [1, 3, 10], perPair: 8, seed: 5 });
    const med = medianStackErrors(errors);
    console.info(`references fitted ${errors.references}, refused ${errors.refused}; median |error| mm: ${JSON.stringify(med)}`);
    expect(errors.references).toBeGreaterThanOrEqual(5);
    expect(med['1']).toBeLessThan(STATED_ERROR_MM[1]);
    expect(med['3']).toBeLessThan(STATED_ERROR_MM[3]);
    expect(med['10']).toBeLessThan(STATED_ERROR_MM[10]);
  });
});

/**
 * The stated error (mm) per stack size. Measured with this setup: median 56 / 50 / 54 mm for
 * stacks of 1 / 3 / 10 slices (6 references, 240 stacks per size), on scans 250–600 mm long. The
 * listwise loss ranks slices within a volume only, so scores carry a per-subject offset that a
 * longer stack cannot average away; that, not the stack's own noise, dominates the error.
 */
const STATED_ERROR_MM = { 1: 75, 3: 75, 10: 75 } as const;
