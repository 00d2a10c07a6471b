import * as tf from '@tensorflow/tfjs-core';
import { ChecksumError, ManifestError, ModelIOError, isModelError } from './errors';
import { MANIFEST_FORMAT, MANIFEST_VERSION, validateManifest } from './manifest';
import type { ManifestInit, ModelManifest } from './manifest';
import { createModel } from './model';
import type { Model } from './model';
import type { AssignOptions } from './params';

/** `generatedBy` of the artifacts this package writes. */
export const GENERATED_BY = '@tomosort/models 0.1.0';

/** A model rebuilt from saved artifacts, and what its manifest says. */
export interface LoadedModel {
  readonly model: Model;
  readonly manifest: ModelManifest;
}

/** Where saved artifacts come from: a tf.io handler, or a URL one of tf.io's routers understands. */
export type ModelSource = tf.io.IOHandler | string;

/** Lower-case hex sha-256 of `bytes` (WebCrypto: Node ≥ 20 and browsers). */
export async function sha256Hex(bytes: ArrayBuffer | Uint8Array): Promise<string> {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const digest = await globalThis.crypto.subtle.digest('SHA-256', view as unknown as ArrayBuffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The tfjs artifacts of a model: `modelTopology` = the manifest, `weightSpecs` (every variable,
 * float32, in creation order, batch-norm statistics included) and `weightData` (one buffer).
 * Awaits the backend for the values (no `dataSync`).
 */
export async function modelArtifacts(model: Model, init: ManifestInit): Promise<{ artifacts: tf.io.ModelArtifacts; manifest: ModelManifest }> {
  const arrays = await model.params.read();
  const total = arrays.reduce((n, a) => n + a.values.length, 0);
  const all = new Float32Array(total);
  let offset = 0;
  for (const a of arrays) {
    all.set(a.values, offset);
    offset += a.values.length;
  }
  const weightData = all.buffer;
  const manifest: ModelManifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    method: init.method,
    architecture: model.spec,
    inputSize: init.inputSize,
    ...(init.cropDepth === undefined ? {} : { cropDepth: init.cropDepth }),
    plane: init.plane,
    huWindow: { center: init.huWindow.center, width: init.huWindow.width },
    ...(init.mmPerPixel === undefined ? {} : { mmPerPixel: init.mmPerPixel }),
    ...(init.intensity === undefined ? {} : { intensity: { kind: init.intensity.kind, percentiles: [init.intensity.percentiles[0], init.intensity.percentiles[1]] as const } }),
    sliceSpacingMm: init.sliceSpacingMm,
    steps: init.steps,
    metrics: { ...(init.metrics ?? {}) },
    createdAt: init.createdAt ?? new Date().toISOString(),
    ...(init.classes ? { classes: init.classes.map((c) => ({ value: c.value, name: c.name })) } : {}),
    checksum: await sha256Hex(weightData),
  };
  validateManifest(manifest);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: JSON.parse(JSON.stringify(manifest)) as {},
    format: MANIFEST_FORMAT,
    generatedBy: GENERATED_BY,
    convertedBy: null,
    weightSpecs: arrays.map((a) => ({ name: a.name, shape: [...a.shape], dtype: 'float32' })),
    weightData,
  };
  return { artifacts, manifest };
}

/**
 * Saves `model` through any tf.io handler (`tf.io.browserHTTPRequest(url)`,
 * `tf.io.getSaveHandlers('indexeddb://name')[0]`, `tf.io.withSaveHandler(fn)`, or `fileHandler`
 * from `@tomosort/models/node`). Returns the manifest written.
 */
export async function saveModel(model: Model, init: ManifestInit, handler: tf.io.IOHandler): Promise<{ manifest: ModelManifest; result: tf.io.SaveResult }> {
  if (!handler.save) throw new ModelIOError('this tf.io handler cannot save (it has no save method)');
  const { artifacts, manifest } = await modelArtifacts(model, init);
  let result: tf.io.SaveResult;
  try {
    result = await handler.save(artifacts);
  } catch (e) {
    if (isModelError(e)) throw e;
    throw new ModelIOError(`saving the model failed: ${(e as Error).message}`, undefined, { cause: e });
  }
  if (result.errors?.length) throw new ModelIOError(`saving the model failed: ${result.errors.map(String).join('; ')}`);
  return { manifest, result };
}

/**
 * Loads saved artifacts, checks the manifest and the weights' sha-256, and returns the manifest and
 * the name → tensor map (the caller disposes the tensors).
 */
async function readArtifacts(source: ModelSource): Promise<{ manifest: ModelManifest; tensors: tf.NamedTensorMap }> {
  const handler = resolveLoadHandler(source);
  const location = typeof source === 'string' ? source : undefined;
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await handler.load!();
  } catch (e) {
    if (isModelError(e)) throw e;
    throw new ModelIOError(`loading the model${location ? ` from ${location}` : ''} failed: ${(e as Error).message}`, location, { cause: e });
  }
  const manifest = artifacts.modelTopology;
  if (manifest instanceof ArrayBuffer) throw new ManifestError('model.json holds a binary (GraphDef) topology, not a tomosort model manifest');
  validateManifest(manifest);
  const specs = artifacts.weightSpecs;
  if (!specs) throw new ManifestError('model.json lists no weights (weightsManifest is empty)');
  const bytes = await weightBytes(artifacts);
  const actual = await sha256Hex(bytes);
  if (actual !== manifest.checksum) throw new ChecksumError(manifest.checksum, actual);
  let tensors: tf.NamedTensorMap;
  try {
    tensors = tf.io.decodeWeights(bytes, specs);
  } catch (e) {
    throw new ManifestError(`the weights do not match their specs in model.json: ${(e as Error).message}`);
  }
  return { manifest, tensors };
}

/**
 * Loads a saved model: rebuilds the architecture from the manifest and fills in every variable
 * (batch-norm statistics included). Throws {@link ChecksumError} if the weight bytes were altered,
 * {@link ManifestError} for a foreign or newer model.json, and {@link WeightsMismatchError} (naming
 * each variable) if the weights do not fit the architecture.
 *
 * @param source a tf.io handler (`tf.io.fromMemory(artifacts)`, `fileHandler(dir)` in Node) or a
 *   URL a tf.io router understands: `http(s)://…/model.json`, `indexeddb://name`, `localstorage://name`
 */
export async function loadModel(source: ModelSource): Promise<LoadedModel> {
  const { manifest, tensors } = await readArtifacts(source);
  try {
    const model = createModel(manifest.architecture, { initialise: false });
    try {
      model.params.assign(tensors);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return { model, manifest };
  } finally {
    tf.dispose(tensors);
  }
}

/**
 * Loads saved weights into an existing model (e.g. the encoder part of another architecture, with
 * `{ prefix: 'encoder/', allowUnexpected: true }`). All or nothing: when names or shapes do not fit,
 * a {@link WeightsMismatchError} lists every offending variable and no variable changes.
 * Returns the saved manifest.
 */
export async function loadWeightsInto(model: Model, source: ModelSource, options: AssignOptions = {}): Promise<ModelManifest> {
  const { manifest, tensors } = await readArtifacts(source);
  try {
    model.params.assign(tensors, options);
    return manifest;
  } finally {
    tf.dispose(tensors);
  }
}

function resolveLoadHandler(source: ModelSource): tf.io.IOHandler {
  if (typeof source !== 'string') {
    if (!source.load) throw new ModelIOError('this tf.io handler cannot load (it has no load method)');
    return source;
  }
  const handler = tf.io.getLoadHandlers(source)[0];
  if (!handler?.load) {
    throw new ModelIOError(
      `no tf.io load handler understands ${source} (http(s)://…/model.json, indexeddb://…, localstorage://… do; in Node use fileHandler from @tomosort/models/node)`,
      source,
    );
  }
  return handler;
}

async function weightBytes(artifacts: tf.io.ModelArtifacts): Promise<ArrayBuffer> {
  if (artifacts.weightData !== undefined) return tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  if (artifacts.getWeightStream) {
    const chunks: ArrayBuffer[] = [];
    const reader = artifacts.getWeightStream().getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    return tf.io.CompositeArrayBuffer.join(chunks);
  }
  throw new ManifestError('the saved model has no weight data');
}
