import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initNodeBackend } from '@tomosort/backend/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesHandler } from './filesHandler';
import { loadModel } from './io';
import { createModel, expectKind, scoreModelSpec } from './model';
import { saveModelToDir } from './node';
import { encoderSpec } from './resnet';

const dir = mkdtempSync(join(tmpdir(), 'tomosort-files-'));
beforeAll(async () => {
  await initNodeBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The saved folder's files as a file picker gives them (name + bytes, no folder). */
const picked = () => readdirSync(dir).map((name) => new File([readFileSync(join(dir, name))], name));

describe('filesHandler: a model from files the user picked', () => {
  it('loads what saveModelToDir wrote, checksum checked, with the same outputs', async () => {
    const model = expectKind(createModel(scoreModelSpec(encoderSpec('small')), { seed: 4 }), 'score');
    await saveModelToDir(model, { method: 'sorting', inputSize: 16, plane: 'axial', huWindow: { center: 40, width: 400 }, sliceSpacingMm: 2, steps: 7, metrics: {} }, dir);
    const { model: loaded, manifest } = await loadModel(filesHandler(picked()));
    expect(manifest.steps).toBe(7);
    const x = tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const a = await (model.apply(x, { training: false }) as tf.Tensor).data();
    const b = await (expectKind(loaded, 'score').apply(x, { training: false }) as tf.Tensor).data();
    expect(Array.from(b)).toEqual(Array.from(a));
    tf.dispose(x);
    model.dispose();
    loaded.dispose();
  });

  it('names what is missing: no model.json, or a weight file it lists', async () => {
    const files = picked();
    await expect(loadModel(filesHandler(files.filter((f) => !f.name.endsWith('.json'))))).rejects.toThrow('choose one model.json and its weight files (got 0 .json file(s)');
    const bin = files.find((f) => f.name.endsWith('.bin'))!.name;
    await expect(loadModel(filesHandler(files.filter((f) => f.name !== bin)))).rejects.toThrow(`model.json lists the weight file ${bin}, which was not chosen with it`);
    await expect(loadModel(filesHandler([new File(['{"modelTopology": {}}'], 'model.json')]))).rejects.toThrow('model.json has no weightsManifest');
  });
});
