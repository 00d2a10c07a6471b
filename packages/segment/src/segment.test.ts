import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@tomosort/backend/node';
import { createModel, encoderSpec, scoreModelSpec, unetFromEncoder } from '@tomosort/models';
import { NO_AUGMENTATION } from '@tomosort/pretext';
import { mulberry32 } from '@tomosort/random';
import { phantomSubject } from '@tomosort/samples';
import { MemoryCheckpointStore, asTrainable } from '@tomosort/train';
import { PLANE_FRAMES, createVolume } from '@tomosort/volume';
import type { Volume } from '@tomosort/volume';
import { defaultPredictBatch, dicePerClass, finetune, predictVolume, prepareAnnotation, segmentationTask } from './index';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

const grid = { spacing: [1, 1, 2] as const, origin: [0, 0, 0] as const };
const vol = (dims: readonly [number, number, number], f: (i: number, j: number, k: number) => number): Volume<Float32Array> => {
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) data[i + dims[0] * (j + dims[1] * k)] = f(i, j, k);
  return createVolume({ data, dims, ...grid });
};
const labelsOf = (v: Volume<Float32Array>) => createVolume({ ...v, data: Uint8Array.from(v.data) });

describe('prepareAnnotation', () => {
  it('halves a 4×4 slice: each 2×2 block takes its majority class; other label values become background', () => {
    // Left half value 3 (class 1), right half value 7 (not a class), slice 1 only.
    const v = vol([4, 4, 3], (_i, _j, k) => 100 * k);
    const l = labelsOf(vol([4, 4, 3], (i) => (i < 2 ? 3 : 7)));
    const p = prepareAnnotation({ id: 'v', volume: v, labels: l, slices: [1] }, 2, [{ value: 3, name: 'a' }]);
    expect(p.slices).toEqual([1]);
    expect(Array.from(p.images)).toEqual([100, 100, 100, 100]);
    expect(Array.from(p.targets)).toEqual([1, 0, 1, 0]);
  });

  it('names the volume and the problem for bad annotations', () => {
    const v = vol([4, 4, 3], () => 0);
    const classes = [{ value: 1, name: 'a' }];
    expect(() => prepareAnnotation({ id: 'ct-9', volume: v, labels: labelsOf(vol([4, 4, 2], () => 0)), slices: [0] }, 2, classes)).toThrow(
      'ct-9: labels are [4, 4, 2] but the volume is [4, 4, 3]',
    );
    expect(() => prepareAnnotation({ id: 'ct-9', volume: v, labels: labelsOf(v), slices: [3] }, 2, classes)).toThrow('ct-9: annotated slice 3 is outside 0..2');
    expect(() => prepareAnnotation({ id: 'ct-9', volume: v, labels: labelsOf(v), slices: [1, 1] }, 2, classes)).toThrow('slice 1 is listed twice');
    expect(() => prepareAnnotation({ id: 'ct-9', volume: v, labels: labelsOf(v), slices: [] }, 2, classes)).toThrow('ct-9: no annotated slices');
    expect(() => prepareAnnotation({ id: 'ct-9', volume: v, labels: labelsOf(v), slices: [0] }, 2, [{ value: 0, name: 'bg' }])).toThrow(
      'class "bg": label value must be an integer in 1..255, got 0',
    );
  });
});

describe('prepareAnnotation on reformatted planes (a plane drawn in another orientation than the acquisition)', () => {
  // An axial acquisition (identity direction): a plane of fixed row j is coronal, of fixed column i sagittal.
  const dims = [4, 3, 5] as const;
  const value = (i: number, j: number, k: number) => 100 * i + 10 * j + k;
  const v = vol(dims, value);
  const l = labelsOf(vol(dims, (i, j, k) => ((i + j + k) % 3 === 0 ? 1 : (i + 2 * k) % 4 === 1 ? 2 : 0)));
  const classes = [
    { value: 1, name: 'a' },
    { value: 2, name: 'b' },
  ];
  /** The plane as a one-slice volume built by hand in its display frame (PLANE_FRAMES): pixel (c, r) from `at(c, r)`. */
  const byHand = (width: number, height: number, spacing: readonly [number, number], plane: 'coronal' | 'sagittal', at: (c: number, r: number) => readonly [number, number, number]) => {
    const image = new Float32Array(width * height);
    const labels = new Uint8Array(width * height);
    for (let r = 0; r < height; r++)
      for (let c = 0; c < width; c++) {
        const [i, j, k] = at(c, r);
        image[c + width * r] = value(i, j, k);
        labels[c + width * r] = l.data[i + dims[0] * (j + dims[1] * k)]!;
      }
    const grid = { dims: [width, height, 1] as const, spacing: [spacing[0], spacing[1], 1] as const, origin: [0, 0, 0] as const, direction: PLANE_FRAMES[plane] };
    return prepareAnnotation({ id: 'hand', volume: createVolume({ ...grid, data: image }), labels: createVolume({ ...grid, data: labels }), slices: [0] }, 4, classes);
  };

  it('takes a coronal plane (fixed row) in coronal display orientation: columns → left, rows head → feet', () => {
    const p = prepareAnnotation({ id: 'v', volume: v, labels: l, slices: [], reformats: [{ axis: 1, index: 2 }] }, 4, classes);
    const hand = byHand(4, 5, [1, 2], 'coronal', (c, r) => [c, 2, 4 - r]);
    expect(p.reformats).toEqual([{ axis: 1, index: 2 }]);
    expect(Array.from(p.images)).toEqual(Array.from(hand.images));
    expect(Array.from(p.targets)).toEqual(Array.from(hand.targets));
    expect(new Set(p.targets).size).toBeGreaterThan(1);
  });

  it('takes a sagittal plane (fixed column) in sagittal display orientation: columns front → back, rows head → feet', () => {
    const p = prepareAnnotation({ id: 'v', volume: v, labels: l, slices: [], reformats: [{ axis: 0, index: 1 }] }, 4, classes);
    const hand = byHand(3, 5, [1, 2], 'sagittal', (c, r) => [1, c, 4 - r]);
    expect(Array.from(p.images)).toEqual(Array.from(hand.images));
    expect(Array.from(p.targets)).toEqual(Array.from(hand.targets));
  });

  it('stacks slices first, then reformats by axis and index; the task draws them all', () => {
    const p = prepareAnnotation({ id: 'v', volume: v, labels: l, slices: [3], reformats: [{ axis: 1, index: 0 }, { axis: 0, index: 2 }, { axis: 1, index: 1 }] }, 4, classes);
    const plane = 16;
    expect(p.images.length).toBe(4 * plane);
    expect(p.reformats).toEqual([{ axis: 0, index: 2 }, { axis: 1, index: 0 }, { axis: 1, index: 1 }]);
    const single = (r: { axis: 0 | 1; index: number }) => prepareAnnotation({ id: 'v', volume: v, labels: l, slices: [], reformats: [r] }, 4, classes).images;
    expect(Array.from(p.images.subarray(plane, 2 * plane))).toEqual(Array.from(single({ axis: 0, index: 2 })));
    expect(Array.from(p.images.subarray(3 * plane))).toEqual(Array.from(single({ axis: 1, index: 1 })));
    // Only the reformatted plane j = 1 holds 100 HU: a task over it alone draws nothing else.
    const marked = vol(dims, (_i, j) => (j === 1 ? 100 : 900));
    const task = segmentationTask([prepareAnnotation({ id: 'm', volume: marked, labels: l, slices: [], reformats: [{ axis: 1, index: 1 }] }, 4, classes)], {
      batch: 8,
      window: { center: 500, width: 1000 },
      augmentation: NO_AUGMENTATION,
    });
    expect(task.draw(mulberry32(3)).images.every((x) => Math.abs(x - 0.1) < 1e-6)).toBe(true);
  });

  it('names the volume and the problem for bad reformatted planes', () => {
    const a = { id: 'ct-9', volume: v, labels: l, slices: [] };
    expect(() => prepareAnnotation({ ...a, reformats: [{ axis: 1, index: 3 }] }, 4, classes)).toThrow('ct-9: reformatted plane 3 across axis 1 is outside 0..2');
    expect(() => prepareAnnotation({ ...a, reformats: [{ axis: 0, index: 1 }, { axis: 0, index: 1 }] }, 4, classes)).toThrow('ct-9: reformatted plane 1 across axis 0 is listed twice');
    expect(() => prepareAnnotation({ ...a, reformats: [{ axis: 2 as 0, index: 1 }] }, 4, classes)).toThrow('ct-9: a reformatted plane lies across voxel axis 0 or 1, not 2');
    expect(() => prepareAnnotation({ ...a, reformats: [] }, 4, classes)).toThrow('ct-9: no annotated slices');
  });
});

describe('segmentationTask', () => {
  it('draws only annotated slices, so unannotated ones are never taken for background', () => {
    // Annotated slices hold 100 HU (0.1 after the window), the others 900 (0.9).
    const v = vol([8, 8, 10], (_i, _j, k) => (k === 2 || k === 7 ? 100 : 900));
    const l = labelsOf(vol([8, 8, 10], (i) => (i < 4 ? 1 : 0)));
    const data = [prepareAnnotation({ id: 'v', volume: v, labels: l, slices: [2, 7] }, 8, [{ value: 1, name: 'a' }])];
    const task = segmentationTask(data, { batch: 16, window: { center: 500, width: 1000 }, augmentation: NO_AUGMENTATION });
    const b = task.draw(mulberry32(5));
    expect(b.images.every((x) => Math.abs(x - 0.1) < 1e-6)).toBe(true);
    expect(b.targets.reduce((s, t) => s + t, 0)).toBe(16 * 32);
  });
});

describe('predictVolume', () => {
  it('maps the model output back onto the volume grid: a threshold "network" reproduces the thresholded volume', async () => {
    // A disc of 200 HU in −100 HU; a 2-class network by hand: logit(fg) − logit(bg) = 40·(x − 0.5).
    const v = vol([40, 30, 5], (i, j) => ((i - 20) ** 2 + (j - 15) ** 2 < 100 ? 200 : -100));
    const truth = labelsOf(vol([40, 30, 5], (i, j) => ((i - 20) ** 2 + (j - 15) ** 2 < 100 ? 4 : 0)));
    const net = { apply: (x: tf.Tensor4D) => tf.concat([tf.zerosLike(x), tf.mul(40, tf.sub(x, 0.5))], 3) };
    const before = tf.memory().numTensors;
    const pred = await predictVolume(net, v, { size: 20, window: { center: 50, width: 300 }, classes: [{ value: 4, name: 'disc' }], batch: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(pred.dims).toEqual(v.dims);
    expect(pred.spacing).toEqual(v.spacing);
    expect(dicePerClass(pred, truth, [{ value: 4, name: 'disc' }]).disc).toBeGreaterThan(0.95);
  });

  it('passes the same pixels per pass at any size by default (16 at 128², at most 64), and the passes do not change the labels', async () => {
    expect([512, 256, 128, 96, 64, 32].map(defaultPredictBatch)).toEqual([1, 4, 16, 28, 64, 64]);
    // 70 slices at 16²: default passes of 64 + 6 against passes of 1; a "network" that mixes nothing across slices.
    const v = vol([16, 16, 70], (i, j, k) => ((i - 8) ** 2 + (j - 8) ** 2 < 4 + (k % 20) ? 200 : -100));
    const passes: number[] = [];
    const net = {
      apply: (x: tf.Tensor4D) => {
        passes.push(x.shape[0]);
        return tf.concat([tf.zerosLike(x), tf.mul(40, tf.sub(x, 0.5))], 3);
      },
    };
    const opts = { size: 16, window: { center: 50, width: 300 }, classes: [{ value: 4, name: 'disc' }] };
    const byDefault = await predictVolume(net, v, opts);
    expect(passes).toEqual([64, 6]);
    const one = await predictVolume(net, v, { ...opts, batch: 1 });
    expect(passes.length).toBe(2 + 70);
    expect(Array.from(byDefault.data)).toEqual(Array.from(one.data));
    expect(byDefault.data.some((x) => x === 4)).toBe(true);
  });

  it.each([
    [undefined, 4],
    ['coronal', 4],
    ['axial', 5],
    ['sagittal', 6],
  ] as const)('coronal stack [6,5,4] labelled across plane %s: the model sees %i slices; labels land exactly on the coronal grid', async (plane, seen) => {
    // Coronal frame: i → left, j → feet, k → back. 200 HU on the two top rows (j < 2), −100 below:
    // every axial slice is constant, and across the other planes the edge runs between two rows,
    // which resizing there and back keeps: labels across any plane reproduce the threshold exactly.
    const v = createVolume({ ...vol([6, 5, 4], (_i, j) => (j < 2 ? 200 : -100)), direction: PLANE_FRAMES.coronal, origin: [3, -4, 5] });
    const truth = createVolume({ ...v, data: Uint8Array.from(v.data, (x) => (x > 0 ? 4 : 0)) });
    let slices = 0;
    const net = {
      apply: (x: tf.Tensor4D) => {
        slices += x.shape[0];
        return tf.concat([tf.zerosLike(x), tf.mul(40, tf.sub(x, 0.5))], 3);
      },
    };
    const pred = await predictVolume(net, v, { size: 6, window: { center: 50, width: 300 }, classes: [{ value: 4, name: 'top' }], ...(plane ? { plane } : {}) });
    expect(slices).toBe(seen);
    expect([pred.dims, pred.spacing, pred.origin, pred.direction]).toEqual([v.dims, v.spacing, v.origin, v.direction]);
    expect([...pred.data]).toEqual([...truth.data]);
  });

  it('says what the model should output when its classes do not fit', async () => {
    const v = vol([8, 8, 2], () => 0);
    const net = { apply: (x: tf.Tensor4D) => tf.concat([x, x, x], 3) };
    await expect(predictVolume(net, v, { size: 8, window: { center: 0, width: 100 }, classes: [{ value: 1, name: 'a' }] })).rejects.toThrow(
      'the model outputs [2, 8, 8, 3], expected [2, 8, 8, 2] for 1 classes + background',
    );
  });
});

describe('finetune', () => {
  const subject = phantomSubject(1, 1, { size: 64 });
  const classes = [
    { value: 6, name: 'lungs' },
    { value: 9, name: 'liver' },
  ];
  const window = { center: 40, width: 400 };

  it('keeps the encoder frozen during the warm-up, then trains it; a finished warm-up is not repeated on resume', async () => {
    const data = [prepareAnnotation({ id: subject.id, volume: subject.volume, labels: subject.labels, slices: [10, 30, 50] }, 32, classes)];
    const unet = unetFromEncoder(createModel(scoreModelSpec(encoderSpec('small')), { seed: 1 }), { classes: 3, seed: 2 });
    const snapshot = () => Object.fromEntries(Object.entries(unet.params.trainable).map(([n, v]) => [n, Float32Array.from(v.dataSync())]));
    const changed = (a: Record<string, Float32Array>, b: Record<string, Float32Array>, prefix: string) =>
      Object.keys(a).filter((n) => n.startsWith(prefix) && a[n]!.some((x, i) => x !== b[n]![i]));
    const start = snapshot();
    const stores = { frozen: new MemoryCheckpointStore(), full: new MemoryCheckpointStore() };
    const config = { window, batch: 4, frozenSteps: 3, steps: 0, learningRate: 1e-2, seed: 0 };
    await finetune({ model: asTrainable(unet), data, config, stores });
    const warm = snapshot();
    expect(changed(start, warm, 'encoder/')).toEqual([]);
    expect(changed(start, warm, 'decoder/').length).toBeGreaterThan(0);

    const phases: string[] = [];
    await finetune({ model: asTrainable(unet), data, config: { ...config, steps: 2 }, stores, resume: true, onEvent: (p, e) => e.type === 'step' && phases.push(p) });
    expect(phases).toEqual(['full', 'full']);
    expect(changed(warm, snapshot(), 'encoder/').length).toBeGreaterThan(0);
    unet.dispose();
  });
});
