import { manifestPlane } from '@tomosort/models';
import type { LoadedModel, ModelManifest, ModelPlane } from '@tomosort/models';
import { findModelDir, loadModelFromDir } from '@tomosort/models/node';
import { userPath } from './env';

/** A model loaded from the folder an option named, and the folder it really came from. */
export interface LoadedModelFolder extends LoadedModel {
  /** The model folder: the one named, or its `model` subfolder for a training run's --out folder. */
  readonly dir: string;
}

/**
 * Loads the model a `--model` / `--encoder` value names: a model folder, or the --out folder of a
 * `pretrain` or `finetune` run (its `model` subfolder). A folder holding neither fails with one
 * line naming it (ModelIOError).
 */
export async function loadModelFolder(value: string): Promise<LoadedModelFolder> {
  const dir = await findModelDir(userPath(value));
  return { ...(await loadModelFromDir(dir)), dir };
}

/**
 * The plane a model's slices were cut across, as its manifest says. An encoder saved before
 * planes were recorded is taken as axial, and `warn` is told so (once per call: call it once per
 * model). Undefined only for a U-Net of that time (trained along its series' own slice axis).
 */
export function modelPlane(manifest: ModelManifest, dir: string, warn: (message: string) => void): ModelPlane | undefined {
  const { plane, recorded } = manifestPlane(manifest);
  if (!recorded) {
    warn(
      plane === undefined
        ? `${dir} records no plane (saved before planes were recorded): its slices are taken along each series' own slice axis`
        : `${dir} records no plane (saved before planes were recorded): taking it as ${plane} (the default plane of pretrain and the viewer then)`,
    );
  }
  return plane;
}

/** Prints a warning line on stderr. */
export const warnLine = (message: string): void => {
  process.stderr.write(`warning: ${message}\n`);
};
