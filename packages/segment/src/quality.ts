// How good a sparse-slice fine-tuning is, before the radiologist exports it: cross-validation over
// the annotated planes themselves (the only truth there is), at the model's input grid.
import * as tf from '@tensorflow/tfjs-core';
import { diceScore } from '@tomosort/losses';
import { unetFromEncoder } from '@tomosort/models';
import type { Model } from '@tomosort/models';
import { asTrainable } from '@tomosort/train';
import type { TrainableModel } from '@tomosort/train';
import type { HuWindow } from '@tomosort/volume';
import type { SegmentClass, SparseAnnotation } from './annotation';
import { SegmentError } from './errors';
import { finetune } from './finetune';
import type { FinetuneConfig, FinetuneOptions, FinetuneResult } from './finetune';
import { dicePerClass } from './predict';
import type { SegmentationModel } from './predict';
import { applyWindow, createVolume } from '@tomosort/volume';
import type { Volume } from '@tomosort/volume';
import type { PreparedAnnotation } from './prepare';

/** The folds of `n` annotated images: image i is held out in fold i mod F, F = min(folds, n) (leave-one-out when n ≤ folds). */
export function crossValidationFolds(n: number, folds: number): number[][] {
  if (!Number.isInteger(folds) || folds < 2) throw new SegmentError(`a quality estimate needs at least 2 folds, got ${folds}`);
  if (n < 2) throw new SegmentError(`a quality estimate needs at least 2 annotated planes (one to train on, one to check), got ${n}`);
  const F = Math.min(folds, n);
  return Array.from({ length: F }, (_, f) => Array.from({ length: n }, (_, i) => i).filter((i) => i % F === f));
}

/** The images `indices` of a prepared annotation as one of its own (slices and reformats kept with their images). */
export function subsetOf(d: PreparedAnnotation, indices: readonly number[]): PreparedAnnotation {
  const plane = d.size * d.size;
  const images = new Float32Array(indices.length * plane);
  const targets = new Int32Array(indices.length * plane);
  indices.forEach((i, n) => {
    images.set(d.images.subarray(i * plane, (i + 1) * plane), n * plane);
    targets.set(d.targets.subarray(i * plane, (i + 1) * plane), n * plane);
  });
  const k = d.slices.length;
  return { id: d.id, size: d.size, slices: indices.filter((i) => i < k).map((i) => d.slices[i]!), reformats: indices.filter((i) => i >= k).map((i) => d.reformats[i - k]!), images, targets };
}

/**
 * Dice of each class between `model`'s argmax and the targets of the images `indices`, pooled over
 * those images (a class absent from both scores 1), at the model's input grid.
 */
export async function heldOutDice(model: SegmentationModel, d: PreparedAnnotation, indices: readonly number[], classes: readonly SegmentClass[], window: HuWindow): Promise<number[]> {
  const held = subsetOf(d, indices);
  const n = indices.length;
  const input = applyWindow(held.images, window);
  const out = tf.tidy(() => {
    const logits = model.apply(tf.tensor4d(input, [n, d.size, d.size, 1]), false);
    if (logits.shape.at(-1) !== classes.length + 1) throw new SegmentError(`the model outputs [${logits.shape.join(', ')}], expected ${classes.length} classes + background`);
    return tf.argMax(logits, -1);
  });
  const predicted = new Int32Array(await out.data());
  out.dispose();
  return classes.map((_, c) => diceScore(predicted, held.targets, c + 1));
}

/** One class's held-out Dice over the folds. */
export interface ClassQuality {
  readonly name: string;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

export interface QualityEstimate {
  readonly folds: number;
  /** Annotated planes (slices and reformats) the folds were drawn from. */
  readonly planes: number;
  readonly perClass: readonly ClassQuality[];
}

/** Mean, min and max per class of per-fold Dice `scores[fold][class]`. */
function summarizeFolds(classes: readonly SegmentClass[], scores: readonly (readonly number[])[], planes: number): QualityEstimate {
  return {
    folds: scores.length,
    planes,
    perClass: classes.map((c, i) => {
      const v = scores.map((s) => s[i]!);
      return { name: c.name, mean: v.reduce((a, b) => a + b, 0) / v.length, min: Math.min(...v), max: Math.max(...v) };
    }),
  };
}

/** A network for one fold, from the same starting weights as the run it estimates. */
export interface FoldModel {
  /** Trained by the fold, then applied to its held-out planes. */
  readonly net: TrainableModel & SegmentationModel;
  /** The U-Net `net` wraps (its spec and weights), for runners that copy it to replicas. */
  readonly model?: Model;
  dispose(): void;
}

/** Trains one fold's network (`finetune`, or the same on data-parallel replicas). */
export type FoldRunner = (fold: FoldModel, opts: FinetuneOptions & { readonly data: readonly PreparedAnnotation[] }) => Promise<FinetuneResult>;

/**
 * Fold networks as the run builds its own: a U-Net (`classes` + background, decoder from `seed`)
 * on a fresh copy of the starting encoder (`startFrom`, disposed once the U-Net holds it).
 */
export function unetFolds(startFrom: () => Promise<Model>, classes: number, seed: number): () => Promise<FoldModel> {
  return async () => {
    const source = await startFrom();
    const unet = unetFromEncoder(source, { classes: classes + 1, seed });
    source.dispose();
    return { net: asTrainable(unet), model: unet, dispose: () => unet.dispose() };
  };
}

export interface EstimateOptions {
  readonly data: PreparedAnnotation;
  readonly classes: readonly SegmentClass[];
  /** The fine-tuning being estimated: each fold trains exactly so, on the other folds' planes. */
  readonly config: FinetuneConfig;
  readonly makeModel: () => Promise<FoldModel>;
  /** How a fold trains; default `finetune` here. */
  readonly run?: FoldRunner;
  /** Default {@link QUALITY_FOLDS}. */
  readonly folds?: number;
  readonly signal?: AbortSignal;
  /** Before each fold (0-based) trains. */
  readonly onFold?: (fold: number, folds: number) => void;
  readonly onEvent?: FinetuneOptions['onEvent'];
}

/** Folds of the default estimate: leave-one-out up to this many annotated planes. */
export const QUALITY_FOLDS = 5;

/**
 * K-fold cross-validation of a sparse-slice fine-tuning over its own annotated planes
 * (leave-one-out when there are at most `folds`): each fold fine-tunes a fresh network as the real
 * run does on the other planes and scores the held-out ones (Dice per class, at the model's input
 * grid). Returns undefined when cancelled. It costs `folds` more fine-tunings.
 */
export async function estimateQuality(opts: EstimateOptions): Promise<QualityEstimate | undefined> {
  const plane = opts.data.size * opts.data.size;
  const n = opts.data.targets.length / plane;
  const folds = crossValidationFolds(n, opts.folds ?? QUALITY_FOLDS);
  const all = Array.from({ length: n }, (_, i) => i);
  const scores: number[][] = [];
  const run = opts.run ?? ((_: FoldModel, o: FinetuneOptions) => finetune(o));
  for (const [f, held] of folds.entries()) {
    if (opts.signal?.aborted) return undefined;
    opts.onFold?.(f, folds.length);
    const fold = await opts.makeModel();
    try {
      const train = subsetOf(opts.data, all.filter((i) => !held.includes(i)));
      const result = await run(fold, { model: fold.net, data: [train], config: opts.config, ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) });
      if (result.status === 'cancelled') return undefined;
      scores.push(await heldOutDice(fold.net, opts.data, held, opts.classes, opts.config.window));
    } finally {
      fold.dispose();
    }
  }
  return summarizeFolds(opts.classes, scores, n);
}

/**
 * The same cross-validation for contour interpolation (what OHIF offers the radiologist): each
 * fold interpolates the other folds' acquired slices and scores its own (Dice per class pooled
 * over them, at the series' full resolution). Interpolation fills only between annotated
 * slices (it runs on that slab alone), so a held-out slice beyond the others' range gets nothing. Reformatted planes take no
 * part (interpolation runs along the acquisition). The folds are those of {@link estimateQuality}
 * when every annotated plane is an acquired slice. Returns undefined when cancelled.
 */
export async function interpolationQuality(opts: {
  readonly annotation: SparseAnnotation;
  readonly classes: readonly SegmentClass[];
  readonly interpolate: (a: SparseAnnotation, classes: readonly SegmentClass[]) => Promise<Volume<Uint8Array>>;
  readonly folds?: number;
  readonly signal?: AbortSignal;
}): Promise<QualityEstimate | undefined> {
  const slices = [...opts.annotation.slices].sort((a, b) => a - b);
  const folds = crossValidationFolds(slices.length, opts.folds ?? QUALITY_FOLDS);
  const scores: number[][] = [];
  for (const held of folds) {
    if (opts.signal?.aborted) return undefined;
    const heldSlices = held.map((i) => slices[i]!);
    const train = slices.filter((_, i) => !held.includes(i));
    const filled = await interpolateBetween(opts.annotation, train, opts.classes, opts.interpolate);
    const dice = dicePerClass(filled, opts.annotation.labels, opts.classes, heldSlices);
    scores.push(opts.classes.map((c) => dice[c.name]!));
  }
  return summarizeFolds(opts.classes, scores, slices.length);
}

/**
 * Labels of `a` interpolated from the acquired slices `train` alone (sorted), on a's full grid:
 * the pipeline runs on the slab from the first to the last of them only (the cost of ITK's
 * interpolation grows with the slices it is given), and the slices beyond stay background.
 */
async function interpolateBetween(a: SparseAnnotation, train: readonly number[], classes: readonly SegmentClass[], interpolate: (a: SparseAnnotation, classes: readonly SegmentClass[]) => Promise<Volume<Uint8Array>>): Promise<Volume<Uint8Array>> {
  const lo = train[0]!;
  const hi = train.at(-1)!;
  const plane = a.labels.dims[0] * a.labels.dims[1];
  const dims = [a.labels.dims[0], a.labels.dims[1], hi - lo + 1] as const;
  const slab = <T extends Float32Array | Int16Array | Uint8Array>(v: Volume<T>) => createVolume({ ...v, dims, data: v.data.subarray(lo * plane, (hi + 1) * plane) as T });
  const part = await interpolate({ id: a.id, volume: slab(a.volume as Volume<Float32Array>), labels: slab(a.labels), slices: train.map((k) => k - lo) }, classes);
  const data = new Uint8Array(a.labels.data.length);
  data.set(part.data, lo * plane);
  return createVolume({ ...a.labels, data });
}
