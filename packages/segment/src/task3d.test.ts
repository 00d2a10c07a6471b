import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@tomosort/backend/node';
import { createModel, encoderSpec, unetModelSpec } from '@tomosort/models';
import { NO_AUGMENTATION } from '@tomosort/pretext';
import { mulberry32 } from '@tomosort/random';
import { phantomSubject } from '@tomosort/samples';
import { asTrainable } from '@tomosort/train';
import { createVolume } from '@tomosort/volume';
import { finetune, predictVolume, prepareVolumeAnnotation, volumeSegmentationTask } from './index';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

const subject = phantomSubject(1, 1, { size: 32 });
const classes = [
  { value: 6, name: 'lungs' },
  { value: 9, name: 'liver' },
];
const window = { center: 40, width: 400 };
const SIZE = 16;
const DEPTH = 8;
const annotated = [20, 40, 44];
const unet3d = (seed: number) => createModel(unetModelSpec(encoderSpec('unet-down', { dims: 3, width: 0.5 }), { classes: 3 }), { seed });
const opts = { batch: 3, depth: DEPTH, window, augmentation: NO_AUGMENTATION };

describe('3D sparse-slice fine-tuning (unet-down 3D U-Net, crops of 8 slices)', () => {
  it('a crop holds a drawn annotated slice; weights are 1 on exactly the annotated slices inside it, with their targets', () => {
    const data = [prepareVolumeAnnotation({ id: subject.id, volume: subject.volume, labels: subject.labels, slices: annotated }, SIZE, classes)];
    const task = volumeSegmentationTask(data, opts);
    const rng = mulberry32(3);
    const plane = SIZE * SIZE;
    for (let t = 0; t < 20; t++) {
      const b = task.draw(rng);
      for (let n = 0; n < b.count; n++) {
        const w = [...b.weights.subarray(n * DEPTH, (n + 1) * DEPTH)];
        expect(w.some((x) => x === 1)).toBe(true);
        // Which slice each weighted plane is: its image matches the volume's annotated slice (windowed), its target that slice's.
        w.forEach((x, z) => {
          if (x === 0) {
            expect(b.targets.subarray((n * DEPTH + z) * plane, (n * DEPTH + z + 1) * plane).every((v) => v === 0)).toBe(true);
            return;
          }
          const image = b.images.subarray((n * DEPTH + z) * plane, (n * DEPTH + z + 1) * plane);
          const k = annotated.findIndex((s) => data[0]!.volume.subarray(s * plane, (s + 1) * plane).every((hu, p) => Math.abs(Math.min(1, Math.max(0, (hu + 160) / 400)) - image[p]!) < 1e-6));
          expect(k).toBeGreaterThanOrEqual(0);
          expect([...b.targets.subarray((n * DEPTH + z) * plane, (n * DEPTH + z + 1) * plane)]).toEqual([...data[0]!.targets.subarray(k * plane, (k + 1) * plane)]);
        });
      }
    }
  });

  it('changing the labels of unannotated slices leaves every gradient identical; changing the annotated ones does not', () => {
    const model = unet3d(2);
    const trainable = asTrainable(model);
    const gradsFor = (labels: typeof subject.labels) => {
      const task = volumeSegmentationTask([prepareVolumeAnnotation({ id: subject.id, volume: subject.volume, labels, slices: annotated }, SIZE, classes)], opts);
      const batch = task.draw(mulberry32(9));
      return tf.tidy(() => {
        const { grads } = tf.variableGrads(() => task.loss(trainable, batch), Object.values(model.params.trainable));
        return Object.values(grads).map((g) => [...g.dataSync()]);
      });
    };
    const relabel = (keep: (k: number) => boolean) => {
      const data = Uint8Array.from(subject.labels.data);
      const plane = subject.labels.dims[0] * subject.labels.dims[1];
      for (let k = 0; k < subject.labels.dims[2]; k++) if (!keep(k)) for (let p = 0; p < plane; p++) data[k * plane + p] = (p * 7 + k) % 12;
      return createVolume({ ...subject.labels, data });
    };
    const base = gradsFor(subject.labels);
    expect(gradsFor(relabel((k) => annotated.includes(k)))).toEqual(base);
    expect(gradsFor(relabel((k) => !annotated.includes(k)))).not.toEqual(base);
    model.dispose();
  }, 120_000);

  it('one 3D U-Net step (5D skip concat, nearest upsampling) on webgpu: loss and every gradient as on cpu within 1e-4', async () => {
    // One crop: SwiftShader (a CPU emulation of the GPU here) is slow.
    const task = volumeSegmentationTask([prepareVolumeAnnotation({ id: subject.id, volume: subject.volume, labels: subject.labels, slices: annotated }, SIZE, classes)], { ...opts, batch: 1 });
    const batch = task.draw(mulberry32(9));
    const step = async (backend: 'cpu' | 'webgpu') => {
      await initNodeBackend(backend);
      const model = unet3d(2);
      const trainable = asTrainable(model);
      const { value, grads } = tf.variableGrads(() => task.loss(trainable, batch), Object.values(model.params.trainable));
      const out = { loss: (await value.data())[0]!, grads: await Promise.all(Object.values(grads).map(async (g) => Float32Array.from(await g.data()))) };
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
      return out;
    };
    const cpu = await step('cpu');
    const gpu = await step('webgpu');
    await initNodeBackend('cpu');
    expect(Math.abs(gpu.loss - cpu.loss)).toBeLessThan(1e-4);
    const scale = Math.max(...cpu.grads.map((g) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    const worst = Math.max(...cpu.grads.map((g, i) => g.reduce((m, v, j) => Math.max(m, Math.abs(v - gpu.grads[i]![j]!)), 0)));
    expect(worst / scale).toBeLessThan(1e-4);
  }, 120_000);

  it('refuses a volume thinner than the crop, and slice-only data for a 3D run, naming the volume', async () => {
    const thin = phantomSubject(2, 1, { size: 32 });
    const cut = (v: typeof thin.volume | typeof thin.labels, n: number) => createVolume({ ...v, data: v.data.slice(0, v.dims[0] * v.dims[1] * n), dims: [v.dims[0], v.dims[1], n] as const });
    const data = [prepareVolumeAnnotation({ id: 'thin', volume: cut(thin.volume, 6), labels: cut(thin.labels, 6) as typeof thin.labels, slices: [2] }, SIZE, classes)];
    expect(() => volumeSegmentationTask(data, opts)).toThrow('thin has 6 slices; the 3D model takes crops of 8');
    expect(() => prepareVolumeAnnotation({ id: 'mpr', volume: thin.volume, labels: thin.labels, slices: [], reformats: [{ axis: 1, index: 3 }] }, SIZE, classes)).toThrow(
      'mpr: a 3D network fine-tunes on annotated slices along the acquisition (k) only',
    );
    const model = unet3d(1);
    const flat = { id: 'flat', size: SIZE, slices: [1], reformats: [], images: new Float32Array(SIZE * SIZE), targets: new Int32Array(SIZE * SIZE) };
    await expect(finetune({ model: asTrainable(model), data: [flat], config: { window, batch: 1, depth: DEPTH, frozenSteps: 1, steps: 0, learningRate: 1e-3, seed: 0 } })).rejects.toThrow(
      'flat: a 3D fine-tuning (depth set) needs whole volumes',
    );
    model.dispose();
  });

  it('predictVolume in crops: on a stack of exactly one crop it is the argmax of one forward pass; a thinner stack is padded, every slice labelled', async () => {
    const model = unet3d(4);
    const v = phantomSubject(3, 1, { size: 16 }).volume;
    const crop = createVolume({ ...v, data: v.data.slice(0, 16 * 16 * DEPTH), dims: [16, 16, DEPTH] as const });
    const predicted = await predictVolume(asTrainable(model), crop, { size: SIZE, window, classes, depth: DEPTH });
    const direct = tf.tidy(() => {
      const x = Float32Array.from(crop.data, (hu) => Math.min(1, Math.max(0, (hu + 160) / 400)));
      return [...tf.argMax(model.apply(tf.tensor5d(x, [1, DEPTH, SIZE, SIZE, 1]), { training: false }), 4).dataSync()].map((c) => (c === 0 ? 0 : classes[c - 1]!.value));
    });
    expect([...predicted.data]).toEqual(direct);
    const thin = createVolume({ ...v, data: v.data.slice(0, 16 * 16 * 5), dims: [16, 16, 5] as const });
    const labels = await predictVolume(asTrainable(model), thin, { size: SIZE, window, classes, depth: DEPTH });
    expect(labels.dims).toEqual([16, 16, 5]);
    model.dispose();
  }, 120_000);
});
