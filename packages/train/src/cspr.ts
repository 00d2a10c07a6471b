// CSPR (arXiv 2201.01426): supervised pre-training of a 3D network on labelled 2D images turned
// into depth-3 volumes (@tomosort/pretext's csprBatch), with label smoothing.
import * as tf from '@tensorflow/tfjs-core';
import { classificationLoss } from '@tomosort/losses';
import { classifierModelSpec } from '@tomosort/models';
import type { ClassifierModelSpec, EncoderSpec } from '@tomosort/models';
import { CSPR_DEPTH, csprBatch } from '@tomosort/pretext';
import type { CubeBatch, LabelledSlices } from '@tomosort/pretext';
import type { Rng } from '@tomosort/random';
import type { HuWindow } from '@tomosort/volume';
import { TrainError } from './errors';
import type { TrainTask } from './methods';
import type { TrainableModel } from './model';
import { applyCubes } from './proxy3d';

/** CSPR's label smoothing. */
export const CSPR_LABEL_SMOOTHING = 0.1;

/** CSPR's network: a 3D encoder that strides in-plane only (depth 3 stays 3) and a classifier. */
export function csprModelSpec(encoder: EncoderSpec, classes: number): ClassifierModelSpec {
  if (encoder.dims !== 3 || !encoder.inPlaneStrides) throw new TrainError(`CSPR trains a 3D encoder with in-plane strides only (encoderSpec(…, { dims: 3, inPlaneStrides: true })), got ${encoder.name}`);
  return classifierModelSpec(encoder, { patches: 1, classes });
}

/** The CSPR pre-training task: `samples` labelled slabs per step, cross-entropy with label smoothing 0.1. */
export function csprTask(data: LabelledSlices, opts: { readonly samples: number; readonly window: HuWindow; readonly labelSmoothing?: number }): TrainTask<CubeBatch> {
  return {
    slicesPerStep: opts.samples * CSPR_DEPTH,
    draw: (rng: Rng) => csprBatch(data, { samples: opts.samples, window: opts.window }, rng),
    loss: (model: TrainableModel, b: CubeBatch) => classificationLoss(applyCubes(model, b, true), b.labels, { labelSmoothing: opts.labelSmoothing ?? CSPR_LABEL_SMOOTHING }),
  };
}

/** Classification accuracy on `samples` class-balanced slabs drawn from `data` (held-out subjects), and chance: the commonest class's share of the draw (≈ 1 / classes present). */
export function csprAccuracy(model: TrainableModel, data: LabelledSlices, window: HuWindow, rng: Rng, samples = 64): { readonly accuracy: number; readonly chance: number } {
  const b = csprBatch(data, { samples, window }, rng);
  const predicted = tf.tidy(() => tf.argMax(applyCubes(model, b, false), 1).dataSync());
  const hits = b.labels.reduce((n, l, i) => n + (predicted[i] === l ? 1 : 0), 0);
  const counts = new Map<number, number>();
  for (const l of b.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return { accuracy: hits / samples, chance: Math.max(...counts.values()) / samples };
}
