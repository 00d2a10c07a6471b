import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '@tomosort/backend/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChecksumError, ModelIOError } from '../errors';
import { loadModel } from '../io';
import type { ManifestInit } from '../manifest';
import { createModel, scoreModelSpec, unetModelSpec } from '../model';
import type { Model } from '../model';
import { encoderSpec } from '../resnet';
import { MODEL_JSON, WEIGHTS_BIN, fileHandler, findModelDir, loadModelFromDir, saveModelToDir } from './file';

const INIT: ManifestInit = { method: 'simclr', inputSize: 16, plane: 'axial', huWindow: { center: 0, width: 2000 }, sliceSpacingMm: 2, steps: 10, metrics: { loss: 1.5 } };
/** U-Nets must name their classes in the manifest. */
const initFor = (m: { spec: { kind: string } }): ManifestInit => (m.spec.kind === 'unet' ? { ...INIT, classes: [{ value: 1, name: 'fg' }] } : INIT);
const small = encoderSpec('small');
const x = () => tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 4) as tf.Tensor4D;

let root: string;
beforeAll(async () => {
  await initNodeBackend('cpu'); // also registers tfjs-core's gradients
  root = await mkdtemp(join(tmpdir(), 'tomosort-models-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function trained(seed = 1): Model {
  const m = createModel(unetModelSpec(small, { classes: 2 }), { seed });
  tf.tidy(() => {
    m.apply(x(), { training: true });
  });
  return m;
}

const output = async (m: Model) => {
  const y = m.apply(x(), { training: false });
  const v = await y.data();
  y.dispose();
  return v;
};

describe('fileHandler', () => {
  it('saveModelToDir → loadModelFromDir: model.json + weights.bin, bit-identical U-Net outputs', async () => {
    const dir = join(root, 'roundtrip');
    const m = trained();
    const manifest = await saveModelToDir(m, initFor(m), dir);
    expect((await readdir(dir)).sort()).toEqual([MODEL_JSON, WEIGHTS_BIN]);
    const json = JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8'));
    expect(json.modelTopology).toEqual(manifest);
    expect(json.weightsManifest).toEqual([{ paths: ['weights.bin'], weights: m.params.names.map((name) => ({ name, shape: [...m.params.get(name).shape], dtype: 'float32' })) }]);
    expect((await readFile(join(dir, WEIGHTS_BIN))).byteLength).toBe(4 * m.params.count('all'));
    const loaded = await loadModelFromDir(dir);
    expect(loaded.manifest).toEqual(manifest);
    expect(await output(loaded.model)).toEqual(await output(m));
    m.dispose();
    loaded.model.dispose();
  });

  it('saving over an existing model replaces it and leaves no temporary folders beside it', async () => {
    const dir = join(root, 'overwrite');
    const [a, b] = [trained(1), trained(2)];
    await saveModelToDir(a, initFor(a), dir);
    await saveModelToDir(b, { ...initFor(b), steps: 20 }, dir);
    expect((await readdir(root)).filter((f) => f.includes('overwrite'))).toEqual(['overwrite']);
    const loaded = await loadModelFromDir(dir);
    expect(loaded.manifest.steps).toBe(20);
    expect(await output(loaded.model)).toEqual(await output(b));
    [a, b, loaded.model].forEach((m) => m.dispose());
  });

  it('removes the temp folders a killed save left beside the model', async () => {
    const dir = join(root, 'killed-save');
    await mkdir(join(root, '.killed-save.tmp-AbC123'), { recursive: true });
    await writeFile(join(root, '.killed-save.tmp-AbC123', 'weights.bin'), 'half');
    await mkdir(join(root, '.killed-save.old-0a1b2c'), { recursive: true });
    const m = trained(3);
    await saveModelToDir(m, initFor(m), dir);
    expect((await readdir(root)).filter((f) => f.includes('killed-save'))).toEqual(['killed-save']);
    m.dispose();
  });

  it('refuses to replace a folder that holds other files', async () => {
    const dir = join(root, 'busy');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'keep me');
    const m = createModel(scoreModelSpec(small));
    await expect(saveModelToDir(m, initFor(m), dir)).rejects.toThrow(ModelIOError);
    await expect(saveModelToDir(m, initFor(m), dir)).rejects.toThrow('holds other files (notes.txt); refusing to replace it');
    expect(await readdir(dir)).toEqual(['notes.txt']);
    m.dispose();
  });

  it('a corrupted weights.bin fails with ChecksumError "weights.bin does not match its checksum"', async () => {
    const dir = join(root, 'corrupt');
    const m = createModel(scoreModelSpec(small));
    await saveModelToDir(m, initFor(m), dir);
    const bytes = await readFile(join(dir, WEIGHTS_BIN));
    bytes[bytes.length - 1]! ^= 0x40;
    await writeFile(join(dir, WEIGHTS_BIN), bytes);
    await expect(loadModelFromDir(dir)).rejects.toThrow(ChecksumError);
    await expect(loadModelFromDir(dir)).rejects.toThrow(/^weights\.bin does not match its checksum/);
    m.dispose();
  });

  it('a missing folder → ModelIOError naming model.json', async () => {
    const dir = join(root, 'absent');
    await expect(loadModel(fileHandler(dir))).rejects.toThrow(ModelIOError);
    await expect(loadModel(fileHandler(dir))).rejects.toThrow(`cannot read ${join(dir, MODEL_JSON)}`);
  });

  it('findModelDir: a model folder is itself, a run folder (DIR/model) leads to DIR/model, anything else names both places', async () => {
    const run = join(root, 'run');
    const m = createModel(scoreModelSpec(small));
    await saveModelToDir(m, initFor(m), join(run, 'model'));
    m.dispose();
    await mkdir(join(run, 'checkpoint'));
    expect(await findModelDir(join(run, 'model'))).toBe(join(run, 'model'));
    expect(await findModelDir(run)).toBe(join(run, 'model'));
    await expect(findModelDir(join(run, 'checkpoint'))).rejects.toThrow(ModelIOError);
    await expect(findModelDir(join(run, 'checkpoint'))).rejects.toThrow(
      `${join(run, 'checkpoint')} holds no model: neither ${join(run, 'checkpoint', MODEL_JSON)} nor ${join(run, 'checkpoint', 'model', MODEL_JSON)} exists`,
    );
  });

  it('the folder served over HTTP loads with loadModel("http://…/model.json") (tf.io.http, as in a browser)', async () => {
    const dir = join(root, 'served');
    const m = trained(3);
    await saveModelToDir(m, initFor(m), dir);
    const server = createServer(async (req, res) => {
      try {
        const body = await readFile(join(dir, new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/m\//, '')));
        res.writeHead(200).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const { model, manifest } = await loadModel(`http://127.0.0.1:${port}/m/model.json`);
      expect(manifest.method).toBe('simclr');
      expect(await output(model)).toEqual(await output(m));
      model.dispose();
    } finally {
      server.close();
      m.dispose();
    }
  });
});
