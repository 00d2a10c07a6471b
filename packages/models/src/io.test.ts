import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '@tomosort/backend/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChecksumError, ManifestError, ModelIOError, WeightsMismatchError } from './errors';
import { loadModel, loadWeightsInto, saveModel, sha256Hex } from './io';
import { manifestPlane } from './manifest';
import type { ManifestInit, ModelManifest } from './manifest';
import { createModel, projectionModelSpec, scoreModelSpec, unetModelSpec } from './model';
import type { Model, ModelSpec } from './model';
import { encoderSpec } from './resnet';

beforeAll(async () => {
  await initNodeBackend('cpu'); // also registers tfjs-core's gradients
});

const INIT: ManifestInit = {
  method: 'sorting',
  inputSize: 16,
  plane: 'coronal',
  huWindow: { center: 40, width: 400 },
  sliceSpacingMm: 1.5,
  steps: 3,
  metrics: { loss: 0.25 },
  createdAt: '2025-01-02T03:04:05.000Z',
};

const small = encoderSpec('small');
const x = () => tf.randomNormal([3, 16, 16, 1], 0.3, 1.5, 'float32', 21) as tf.Tensor4D;

/** Builds a model and moves its BN statistics off their initial values, so a load must carry them. */
function trained(spec: ModelSpec, seed = 1): Model {
  const m = createModel(spec, { seed });
  tf.tidy(() => {
    m.apply(x(), { training: true });
  });
  return m;
}

/** Saves through tf.io.withSaveHandler (the browser path) and returns the artifacts. */
async function saveToMemory(m: Model, init = INIT): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await saveModel(
    m,
    init,
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  return saved!;
}

const output = async (m: Model) => {
  const y = m.apply(x(), { training: false });
  const v = await y.data();
  y.dispose();
  return v;
};

describe('sha256Hex', () => {
  it('"abc" → ba7816bf…f20015ad (FIPS 180-2 example)', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('saveModel → loadModel through tf.io.withSaveHandler / tf.io.fromMemory', () => {
  it.each([
    ['score', scoreModelSpec(small)],
    ['projection', projectionModelSpec(small, { out: 8 })],
    ['unet', unetModelSpec(small, { classes: 2, upsample: 'bilinear' })],
  ] as const)('%s: bit-identical inference outputs and BN statistics after the round trip', async (_, spec) => {
    const m = trained(spec);
    const classes = spec.kind === 'unet' ? [{ value: 7, name: 'liver' }] : undefined;
    const artifacts = await saveToMemory(m, classes ? { ...INIT, classes } : INIT);
    const { model, manifest } = await loadModel(tf.io.fromMemory(artifacts));
    expect(manifest.classes).toEqual(classes);
    expect(model.spec).toEqual(spec);
    expect(manifest.architecture).toEqual(spec);
    expect(await output(model)).toEqual(await output(m));
    expect(await model.params.get('encoder/layer1/0/bn1/var').data()).toEqual(await m.params.get('encoder/layer1/0/bn1/var').data());
    m.dispose();
    model.dispose();
  });

  it('writes the manifest as modelTopology: format, version, method, size, plane, window, spacing, steps, metrics, createdAt, checksum', async () => {
    const m = trained(scoreModelSpec(small));
    const artifacts = await saveToMemory(m);
    const bytes = tf.io.CompositeArrayBuffer.join(artifacts.weightData!);
    expect(artifacts.modelTopology).toEqual({
      format: 'tomosort-model',
      version: 1,
      method: 'sorting',
      architecture: scoreModelSpec(small),
      inputSize: 16,
      plane: 'coronal',
      huWindow: { center: 40, width: 400 },
      sliceSpacingMm: 1.5,
      steps: 3,
      metrics: { loss: 0.25 },
      createdAt: '2025-01-02T03:04:05.000Z',
      checksum: await sha256Hex(bytes),
    });
    expect(artifacts.format).toBe('tomosort-model');
    expect(artifacts.weightSpecs!.map((s) => s.name)).toEqual(m.params.names);
    expect(bytes.byteLength).toBe(4 * m.params.count('all'));
    m.dispose();
  });

  it('the physical scale and the intensity rule travel with the model', async () => {
    const m = trained(scoreModelSpec(small));
    const artifacts = await saveToMemory(m, { ...INIT, mmPerPixel: 1.5, intensity: { kind: 'modality', percentiles: [1, 99] } });
    const back = await loadModel(tf.io.fromMemory(artifacts));
    expect(back.manifest.mmPerPixel).toBe(1.5);
    expect(back.manifest.intensity).toEqual({ kind: 'modality', percentiles: [1, 99] });
    const plain = await loadModel(tf.io.fromMemory(await saveToMemory(m)));
    expect(plain.manifest.mmPerPixel).toBeUndefined();
    m.dispose();
    back.model.dispose();
    plain.model.dispose();
  });

  it('the plane written (coronal) is read back; manifestPlane reports it as recorded', async () => {
    const m = createModel(scoreModelSpec(small));
    const { manifest } = await loadModel(tf.io.fromMemory(await saveToMemory(m)));
    expect(manifest.plane).toBe('coronal');
    expect(manifestPlane(manifest)).toEqual({ plane: 'coronal', recorded: true });
    m.dispose();
  });

  it.each([
    ['score', scoreModelSpec(small), undefined, 'axial'],
    ['projection', projectionModelSpec(small), undefined, 'axial'],
    ['unet', unetModelSpec(small, { classes: 2 }), [{ value: 1, name: 'fg' }], undefined],
  ] as const)('a %s manifest saved before planes were recorded loads; manifestPlane → %s, not recorded', async (_, spec, classes, plane) => {
    const m = createModel(spec);
    const artifacts = await saveToMemory(m, classes ? { ...INIT, classes } : INIT);
    const { plane: _dropped, ...old } = artifacts.modelTopology as ModelManifest;
    const { manifest, model } = await loadModel(tf.io.fromMemory({ ...artifacts, modelTopology: old }));
    expect(manifest.plane).toBeUndefined();
    expect(manifestPlane(manifest)).toEqual({ plane, recorded: false });
    m.dispose();
    model.dispose();
  });

  it('a U-Net needs one class per foreground channel; other models have none', async () => {
    const unet = trained(unetModelSpec(small, { classes: 3 }));
    await expect(saveToMemory(unet)).rejects.toThrow('a U-Net with 3 output channels needs 2 classes, got undefined');
    await expect(saveToMemory(unet, { ...INIT, classes: [{ value: 1, name: 'a' }, { value: 1, name: 'b' }] })).rejects.toThrow(
      'class {"value":1,"name":"b"} must be {value: distinct integer 1..255, name: string}',
    );
    unet.dispose();
    const score = trained(scoreModelSpec(small));
    await expect(saveToMemory(score, { ...INIT, classes: [{ value: 1, name: 'a' }] })).rejects.toThrow('only U-Net models have classes, this is a score model');
    score.dispose();
  });

  it('one flipped byte in the weights → ChecksumError "weights.bin does not match its checksum"', async () => {
    const m = trained(scoreModelSpec(small));
    const artifacts = await saveToMemory(m);
    const bytes = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData!).slice(0));
    bytes[100]! ^= 1;
    const p = loadModel(tf.io.fromMemory({ ...artifacts, weightData: bytes.buffer }));
    await expect(p).rejects.toThrow(ChecksumError);
    await expect(loadModel(tf.io.fromMemory({ ...artifacts, weightData: bytes.buffer }))).rejects.toThrow(/^weights\.bin does not match its checksum/);
    m.dispose();
  });

  it.each([
    [{ format: 'layers-model' }, 'format is "layers-model", expected "tomosort-model"'],
    [{ version: 2 }, 'version 2 is not supported (this build reads version 1)'],
    [{ method: 'dino' }, 'method "dino" is not one of sorting, simclr, barlow, scratch, finetune'],
    [{ plane: 'oblique' }, 'plane "oblique" is not one of axial, coronal, sagittal'],
    [{ architecture: { kind: 'score', encoder: { kind: 'vit' } } }, 'architecture: invalid encoder spec: kind must be "resnet", got "vit"'],
    [{ mmPerPixel: 0 }, 'mmPerPixel is 0'],
    [{ intensity: { kind: 'modality', percentiles: [99, 1] } }, 'intensity is {"kind":"modality","percentiles":[99,1]}, expected'],
  ])('a manifest with %j → ManifestError: %s', async (patch, message) => {
    const m = createModel(scoreModelSpec(small));
    const artifacts = await saveToMemory(m);
    const bad = { ...artifacts, modelTopology: { ...(artifacts.modelTopology as object), ...patch } };
    await expect(loadModel(tf.io.fromMemory(bad))).rejects.toThrow(ManifestError);
    await expect(loadModel(tf.io.fromMemory(bad))).rejects.toThrow(message);
    m.dispose();
  });

  it('a URL no tf.io router understands → ModelIOError', async () => {
    await expect(loadModel('nope://model')).rejects.toThrow(ModelIOError);
    await expect(loadModel('nope://model')).rejects.toThrow('no tf.io load handler understands nope://model');
  });
});

describe('loadWeightsInto', () => {
  it('small (widths 8…64) into small ×2 (16…128): WeightsMismatchError names each variable and both shapes; nothing changes', async () => {
    const src = createModel(scoreModelSpec(small));
    const artifacts = await saveToMemory(src);
    src.dispose();
    const wide = createModel(scoreModelSpec(encoderSpec('small', { width: 2 })), { seed: 4 });
    const before = await wide.params.get('encoder/stem/conv/w').data();
    const err = await loadWeightsInto(wide, tf.io.fromMemory(artifacts)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeightsMismatchError);
    const message = (err as Error).message;
    expect(message).toContain('encoder/layer2/0/conv1/w: saved shape [3,3,8,16] but the model expects [3,3,16,32]');
    expect(message).toContain('encoder/stem/conv/w: saved shape [3,3,1,8] but the model expects [3,3,1,16]');
    expect(message).toContain('head/fc/w: saved shape [64,1] but the model expects [128,1]');
    expect((err as WeightsMismatchError).problems.every((p) => p.kind === 'shape')).toBe(true);
    expect(await wide.params.get('encoder/stem/conv/w').data()).toEqual(before);
    wide.dispose();
  });

  it('score weights into a projection model: missing head/fc1, head/bn1, head/fc2 and unexpected head/fc are all named', async () => {
    const src = createModel(scoreModelSpec(small));
    const artifacts = await saveToMemory(src);
    src.dispose();
    const proj = createModel(projectionModelSpec(small));
    const err = (await loadWeightsInto(proj, tf.io.fromMemory(artifacts)).catch((e: unknown) => e)) as WeightsMismatchError;
    expect(err).toBeInstanceOf(WeightsMismatchError);
    expect(err.problems.filter((p) => p.kind === 'missing').map((p) => p.variable)).toEqual([
      'head/fc1/w',
      'head/bn1/gamma',
      'head/bn1/beta',
      'head/bn1/mean',
      'head/bn1/var',
      'head/fc2/w',
      'head/fc2/b',
    ]);
    expect(err.problems.filter((p) => p.kind === 'unexpected').map((p) => p.variable)).toEqual(['head/fc/w', 'head/fc/b']);
    expect(err.message).toContain('head/fc1/w: missing from the saved weights (the model expects [64,64])');
    expect(err.message).toContain('head/fc/w: saved (shape [64,1]) but the model has no such variable');
    proj.dispose();
  });

  it('with { prefix: "encoder/" } the encoder of a score model loads into a projection model', async () => {
    const src = trained(scoreModelSpec(small), 8);
    const artifacts = await saveToMemory(src);
    const proj = createModel(projectionModelSpec(small), { seed: 9 });
    const manifest = await loadWeightsInto(proj, tf.io.fromMemory(artifacts), { prefix: 'encoder/' });
    expect(manifest.method).toBe('sorting');
    expect(await proj.params.get('encoder/layer4/0/conv2/w').data()).toEqual(await src.params.get('encoder/layer4/0/conv2/w').data());
    expect(await proj.params.get('encoder/layer4/0/bn2/mean').data()).toEqual(await src.params.get('encoder/layer4/0/bn2/mean').data());
    src.dispose();
    proj.dispose();
  });
});
