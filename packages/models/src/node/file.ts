import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ManifestError, ModelIOError } from '../errors';
import { loadModel, saveModel } from '../io';
import type { LoadedModel } from '../io';
import type { ManifestInit, ModelManifest } from '../manifest';
import type { Model } from '../model';

/** The manifest + weights index file of a model folder (the tfjs model.json layout). */
export const MODEL_JSON = 'model.json';
/** The weight bytes of a model folder: every variable, float32 little-endian, in weightsManifest order. */
export const WEIGHTS_BIN = 'weights.bin';

/**
 * A tf.io handler over a folder holding `model.json` + `weights.bin` — the same layout
 * `tf.io.browserHTTPRequest` reads, so a folder served over HTTP loads in a browser unchanged.
 *
 * Saving is atomic: both files are written (and fsync'ed) into a fresh temporary folder beside
 * `dir`, which is then renamed to `dir`; a previous model there is moved aside first and removed
 * after. Readers see the old model or the new one, never half of one. An existing `dir` holding
 * anything but model.json / weights.bin is refused, not replaced.
 */
export function fileHandler(dir: string): tf.io.IOHandler {
  return {
    save: (artifacts) => saveArtifacts(resolve(dir), artifacts),
    load: () => loadArtifacts(resolve(dir)),
  };
}

/** `saveModel(model, init, fileHandler(dir))`; returns the manifest written. */
export async function saveModelToDir(model: Model, init: ManifestInit, dir: string): Promise<ModelManifest> {
  return (await saveModel(model, init, fileHandler(dir))).manifest;
}

/** The subfolder of a training run's folder (`tomosort pretrain/finetune --out DIR`) that holds its model. */
export const RUN_MODEL_DIR = 'model';

/**
 * The model folder that `dir` names: `dir` itself when it holds model.json, else `dir/model` when
 * that does (the --out folder of a training run, which keeps checkpoints and a log beside its
 * model). Throws {@link ModelIOError} naming `dir` and both places looked at when neither holds
 * a model.
 */
export async function findModelDir(dir: string): Promise<string> {
  const at = resolve(dir);
  const candidates = [at, join(at, RUN_MODEL_DIR)];
  for (const c of candidates) if (await isFile(join(c, MODEL_JSON))) return c;
  throw new ModelIOError(
    `${dir} holds no model: neither ${join(candidates[0]!, MODEL_JSON)} nor ${join(candidates[1]!, MODEL_JSON)} exists (pass a model folder, or the --out folder of a pretrain or finetune run)`,
    at,
  );
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** `loadModel(fileHandler(dir))`. */
export async function loadModelFromDir(dir: string): Promise<LoadedModel> {
  return loadModel(fileHandler(dir));
}

async function saveArtifacts(dir: string, artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer) throw new ModelIOError('cannot save a binary (GraphDef) topology as model.json', dir);
  if (artifacts.weightData === undefined || !artifacts.weightSpecs) throw new ModelIOError('the artifacts to save hold no weights', dir);
  const bytes = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology ?? {},
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
  };
  if (artifacts.userDefinedMetadata) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;

  const parent = dirname(dir);
  const name = basename(dir);
  await assertReplaceable(dir);
  await mkdir(parent, { recursive: true });
  // Temp and set-aside folders of a save that was killed half-way (one writer per folder).
  for (const f of await readdir(parent)) {
    if (f.startsWith(`.${name}.tmp-`) || f.startsWith(`.${name}.old-`)) await rm(join(parent, f), { recursive: true, force: true });
  }
  const tmp = await mkdtemp(join(parent, `.${name}.tmp-`));
  try {
    await writeDurably(join(tmp, WEIGHTS_BIN), bytes);
    await writeDurably(join(tmp, MODEL_JSON), JSON.stringify(modelJson));
    await swapIn(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e instanceof ModelIOError ? e : new ModelIOError(`writing the model to ${dir} failed: ${(e as Error).message}`, dir, { cause: e });
  }
  syncDir(parent);
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

async function loadArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const jsonPath = join(dir, MODEL_JSON);
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch (e) {
    throw new ModelIOError(`cannot read ${jsonPath}: ${(e as Error).message}`, jsonPath, { cause: e });
  }
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(text) as tf.io.ModelJSON;
  } catch (e) {
    throw new ManifestError(`${jsonPath} is not valid JSON: ${(e as Error).message}`);
  }
  if (!json || typeof json !== 'object' || !Array.isArray(json.weightsManifest)) throw new ManifestError(`${jsonPath} has no weightsManifest`);
  return tf.io.getModelArtifactsForJSON(json, async (groups) => {
    const chunks: ArrayBuffer[] = [];
    for (const group of groups) {
      for (const p of group.paths) {
        if (basename(p) !== p || p === '.' || p === '..') throw new ManifestError(`${jsonPath} names weight file ${JSON.stringify(p)} outside its folder`);
        const path = join(dir, p);
        let buf: Buffer;
        try {
          buf = await readFile(path);
        } catch (e) {
          throw new ModelIOError(`cannot read ${path}: ${(e as Error).message}`, path, { cause: e });
        }
        chunks.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
      }
    }
    return [tf.io.getWeightSpecs(groups), chunks];
  });
}

/** An existing `dir` may be replaced only if it is a folder holding nothing but model files. */
async function assertReplaceable(dir: string): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new ModelIOError(`${dir} exists and is not a folder; refusing to replace it`, dir);
  const foreign = (await readdir(dir)).filter((f) => f !== MODEL_JSON && f !== WEIGHTS_BIN);
  if (foreign.length) throw new ModelIOError(`${dir} holds other files (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); refusing to replace it`, dir);
}

/** Renames `tmp` to `dir`, moving a previous `dir` aside first and removing it after. */
async function swapIn(tmp: string, dir: string): Promise<void> {
  const exists = await lstat(dir).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await rename(tmp, dir);
    return;
  }
  const old = join(dirname(dir), `.${basename(dir)}.old-${randomBytes(6).toString('hex')}`);
  await rename(dir, old);
  try {
    await rename(tmp, dir);
  } catch (e) {
    await rename(old, dir).catch(() => undefined);
    throw e;
  }
  await rm(old, { recursive: true, force: true });
}

async function writeDurably(path: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * fsync a folder so a rename or removal in it survives a power cut; best effort (not every
 * platform allows it: the rename is still atomic there, only its durability is weaker). Shared by
 * every atomic writer in the project (model folders, checkpoints, the CLI's files).
 */
export function syncDir(path: string): void {
  try {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not supported here (e.g. Windows) */
  }
}
