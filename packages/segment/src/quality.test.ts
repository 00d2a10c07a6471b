import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@tomosort/backend/node';
import { createModel, encoderSpec, scoreModelSpec, unetFromEncoder } from '@tomosort/models';
import { phantomSubject } from '@tomosort/samples';
import { asTrainable } from '@tomosort/train';
import { createVolume } from '@tomosort/volume';
import { crossValidationFolds, estimateQuality, finetune, heldOutDice, interpolationQuality, prepareAnnotation, subsetOf } from './index';
import type { FoldRunner, SparseAnnotation } from './index';
import { interpolateAnnotation } from './node';
import type { PreparedAnnotation } from './index';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

const window = { center: 40, width: 400 };

describe('quality estimate by cross-validation over the annotated planes', () => {
  it('folds: leave-one-out up to the fold count, else planes dealt round-robin; fewer than 2 planes or folds refused', () => {
    expect(crossValidationFolds(3, 5)).toEqual([[0], [1], [2]]);
    expect(crossValidationFolds(7, 3)).toEqual([
      [0, 3, 6],
      [1, 4],
      [2, 5],
    ]);
    expect(() => crossValidationFolds(1, 5)).toThrow('a quality estimate needs at least 2 annotated planes (one to train on, one to check), got 1');
    expect(() => crossValidationFolds(4, 1)).toThrow('a quality estimate needs at least 2 folds, got 1');
  });

  // Three 2×2 images: slices 4 and 9, then one reformatted plane; targets by hand.
  const d: PreparedAnnotation = {
    id: 'v',
    size: 2,
    slices: [4, 9],
    reformats: [{ axis: 1, index: 3 }],
    images: Float32Array.from([0, 0, 0, 0, 100, 100, 100, 100, 200, 200, 200, 200]),
    targets: Int32Array.from([1, 1, 0, 0, 1, 0, 0, 0, 2, 2, 1, 0]),
  };
  const classes = [
    { value: 5, name: 'a' },
    { value: 8, name: 'b' },
  ];

  it('a subset keeps each image with its slice or reformatted plane', () => {
    const s = subsetOf(d, [0, 2]);
    expect(s.slices).toEqual([4]);
    expect(s.reformats).toEqual([{ axis: 1, index: 3 }]);
    expect(Array.from(s.targets)).toEqual([1, 1, 0, 0, 2, 2, 1, 0]);
  });

  it('held-out Dice of a model that says "a" everywhere: by hand, pooled over the held-out images', async () => {
    const everywhereA = { apply: (x: tf.Tensor4D) => tf.tidy(() => tf.concat([tf.zerosLike(x), tf.onesLike(x), tf.zerosLike(x)], -1)) };
    // Images 0 and 1: a on 3 of 8 pixels, predicted on all 8 → 2·3/(3+8); b absent from both → 1.
    expect(await heldOutDice(everywhereA, d, [0, 1], classes, window)).toEqual([6 / 11, 1]);
    // Image 2: a on 1 of 4 → 2/5; b on 2, never predicted → 0.
    expect(await heldOutDice(everywhereA, d, [2], classes, window)).toEqual([2 / 5, 0]);
  });

  it('trains one fresh network per fold and reports each class over the folds; cancelled, it reports nothing', async () => {
    const size = 32;
    const subject = phantomSubject(1, 1, { size });
    const cls = [{ value: 6, name: 'lungs' }];
    const nz = subject.volume.dims[2];
    const data = prepareAnnotation({ id: subject.id, volume: subject.volume, labels: subject.labels, slices: [0.35, 0.5, 0.65].map((f) => Math.round(f * (nz - 1))) }, size, cls);
    const config = { window, batch: 2, frozenSteps: 1, steps: 2, learningRate: 3e-3, seed: 1 };
    let made = 0;
    let live = 0;
    const makeModel = async () => {
      made++;
      live++;
      const unet = unetFromEncoder(createModel(scoreModelSpec(encoderSpec('small')), { seed: 1 }), { classes: 2, seed: 2 });
      return { net: asTrainable(unet), dispose: () => (live--, unet.dispose()) };
    };
    const folds: number[] = [];
    // The fold runner (the viewer's puts folds on replicas) gets each fold's network and 2 of the 3 planes.
    const ran: number[] = [];
    const run: FoldRunner = (fold, o) => {
      ran.push(o.data[0]!.targets.length / (size * size));
      expect(o.model).toBe(fold.net);
      return finetune(o);
    };
    const q = await estimateQuality({ data, classes: cls, config, makeModel, run, onFold: (f) => folds.push(f) });
    expect(folds).toEqual([0, 1, 2]);
    expect(ran).toEqual([2, 2, 2]);
    expect(made).toBe(3);
    expect(live).toBe(0);
    expect(q).toMatchObject({ folds: 3, planes: 3 });
    const [lungs] = q!.perClass;
    expect(lungs!.name).toBe('lungs');
    expect(lungs!.min).toBeGreaterThanOrEqual(0);
    expect(lungs!.min).toBeLessThanOrEqual(lungs!.mean);
    expect(lungs!.mean).toBeLessThanOrEqual(lungs!.max);
    expect(lungs!.max).toBeLessThanOrEqual(1);
    const stop = new AbortController();
    stop.abort();
    expect(await estimateQuality({ data, classes: cls, config, makeModel, signal: stop.signal })).toBeUndefined();
  }, 120_000);

  it('interpolation by the same folds: a held-out slice between the others is filled, one beyond them is not', async () => {
    // A cylinder of radius 6 through 16 slices of 24², annotated on 2, 5, 8, 11, 14; a second
    // class on no slice at all (absent from truth and interpolation alike: Dice 1).
    const n = 24;
    const nz = 16;
    const data = new Uint8Array(n * n * nz);
    for (let k = 0; k < nz; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) data[i + n * (j + n * k)] = Math.hypot(i - 11.5, j - 11.5) < 6 ? 1 : 0;
    const geometry = { dims: [n, n, nz] as const, spacing: [1, 1, 2] as const, origin: [0, 0, 0] as const, direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] as const };
    const a: SparseAnnotation = { id: 'cylinder', volume: createVolume({ ...geometry, data: new Float32Array(data.length) }), labels: createVolume({ ...geometry, data, modality: 'SEG' }), slices: [14, 2, 8, 5, 11] };
    const cls = [
      { value: 1, name: 'cylinder' },
      { value: 2, name: 'absent' },
    ];
    const asked: [number[], number][] = [];
    const q = await interpolationQuality({ annotation: a, classes: cls, interpolate: (x, c) => (asked.push([[...x.slices], x.labels.dims[2]]), interpolateAnnotation(x, c)) });
    // Leave-one-out over the sorted slices, each fold interpolating the other four on the slab
    // from the first to the last of them (slices renumbered from the slab's first).
    expect(asked).toEqual([
      [[0, 3, 6, 9], 10], // 5, 8, 11, 14
      [[0, 6, 9, 12], 13], // 2, 8, 11, 14
      [[0, 3, 9, 12], 13], // 2, 5, 11, 14
      [[0, 3, 6, 12], 13], // 2, 5, 8, 14
      [[0, 3, 6, 9], 10], // 2, 5, 8, 11
    ]);
    expect(q).toMatchObject({ folds: 5, planes: 5 });
    const [cylinder, absent] = q!.perClass;
    // Slices 2 and 14 lie beyond the other folds' range: nothing there (Dice 0); 5, 8, 11 lie between equal disks: whole.
    expect(cylinder!.min).toBe(0);
    expect(cylinder!.max).toBe(1);
    expect(cylinder!.mean).toBeCloseTo(3 / 5, 10);
    expect(absent).toEqual({ name: 'absent', mean: 1, min: 1, max: 1 });
    const stop = new AbortController();
    stop.abort();
    expect(await interpolationQuality({ annotation: a, classes: cls, interpolate: interpolateAnnotation, signal: stop.signal })).toBeUndefined();
  }, 60_000);
});
