import * as tf from '@tensorflow/tfjs-core';
import { barlowTwinsLoss, ntXentLoss, sortingLoss } from '@tomosort/losses';
import type { SortingLossOptions } from '@tomosort/losses';
import { SORTING_AUGMENTATION, VIEW_AUGMENTATION, sortingBatch, viewBatch } from '@tomosort/pretext';
import type { Augmentation, PreparedVolume, SortingBatch, ViewBatch } from '@tomosort/pretext';
import type { Rng } from '@tomosort/random';
import type { HuWindow } from '@tomosort/volume';
import type { TrainableModel } from './model';
import { TrainError } from './errors';
import { cubeSide, cubesPerSample, drawProxy3d, isProxy3d, proxy3dLoss } from './proxy3d';
import type { Proxy3dConfig } from './proxy3d';
import type { CubeBatch } from '@tomosort/pretext';

/** A pre-training method and its batch settings. */
export type MethodConfig =
  | {
      readonly kind: 'sorting';
      /** B volumes × K slices per step. */
      readonly volumesPerBatch: number;
      readonly slicesPerVolume: number;
      readonly gapMm: readonly [number, number];
      readonly loss?: SortingLossOptions;
      readonly augmentation?: Augmentation;
    }
  | { readonly kind: 'simclr'; readonly slices: number; readonly temperature?: number; readonly augmentation?: Augmentation }
  | { readonly kind: 'barlow'; readonly slices: number; readonly lambda?: number; readonly augmentation?: Augmentation }
  | Proxy3dConfig;

export type MethodName = MethodConfig['kind'];

/**
 * A run that brings its own {@link TrainTask} (e.g. sparse-slice fine-tuning): `name` and
 * `settings` describe it, so that a resume with other settings is refused.
 */
export interface TaskMethodConfig {
  readonly kind: 'task';
  readonly name: string;
  readonly slicesPerStep: number;
  readonly settings: unknown;
}

/** What one run optimises: how a batch is drawn and what its loss is. */
export interface TrainTask<B = unknown> {
  /** Images the network sees per step (for slices/s). */
  readonly slicesPerStep: number;
  /** Draws the batch of one step; `rng` is seeded by (seed, step). */
  draw(rng: Rng): B;
  /** The batch's loss (called inside tf.variableGrads). */
  loss(model: TrainableModel, batch: B): tf.Scalar;
  /**
   * Part `index` of `count` of a batch, for data-parallel replicas (`train`'s `replicas`): the
   * parts cover the batch once. Only tasks whose loss sums across replicas (batch statistics and
   * batch losses through @tomosort/replicas) may have one.
   */
  shard?(batch: B, index: number, count: number): B;
}

/** Rows [from, to) of part `index` of `count` over `n` rows: the first n mod count parts one row longer. */
export function shardRows(n: number, index: number, count: number): [number, number] {
  const base = Math.floor(n / count);
  const extra = n % count;
  const from = index * base + Math.min(index, extra);
  return [from, from + base + (index < extra ? 1 : 0)];
}

/** The task of a pre-training method over prepared volumes. */
export function methodTask(m: MethodConfig, volumes: readonly PreparedVolume[], window: HuWindow): TrainTask<Batch> {
  return {
    slicesPerStep: slicesPerStep(m),
    draw: (rng) => drawBatch(m, volumes, window, rng),
    loss: (model, batch) => batchLoss(m, model, batch),
  };
}

/** Images the network sees per step: B·K for SortingLoss, 2N for the two-view methods, N·K cubes for a 3D proxy task. */
export const slicesPerStep = (m: MethodConfig): number => (m.kind === 'sorting' ? m.volumesPerBatch * m.slicesPerVolume : isProxy3d(m.kind) ? (m as Proxy3dConfig).samples * cubesPerSample(m as Proxy3dConfig) : 2 * (m as { slices: number }).slices);

/** The side of the 3D proxy task's cubes, or undefined for the slice methods. */
export const cubeSideOf = (m: MethodConfig): number | undefined => (isProxy3d(m.kind) ? cubeSide(m as Proxy3dConfig) : undefined);

/** Output width the model's head must have: 1 score for SortingLoss, a projection otherwise. */
export const needsScalarHead = (m: MethodConfig): boolean => m.kind === 'sorting';

export type Batch = { readonly kind: 'sorting'; readonly data: SortingBatch } | { readonly kind: 'views'; readonly data: ViewBatch } | { readonly kind: 'cubes'; readonly data: CubeBatch };

/** Draws one batch for `m` from prepared volumes. */
export function drawBatch(m: MethodConfig, volumes: readonly PreparedVolume[], window: HuWindow, rng: Rng): Batch {
  if (m.kind === 'sorting') {
    return {
      kind: 'sorting',
      data: sortingBatch(
        volumes,
        {
          volumesPerBatch: m.volumesPerBatch,
          slicesPerVolume: m.slicesPerVolume,
          gapMm: m.gapMm,
          window,
          augmentation: m.augmentation ?? SORTING_AUGMENTATION,
        },
        rng,
      ),
    };
  }
  if (m.kind === 'simclr' || m.kind === 'barlow') return { kind: 'views', data: viewBatch(volumes, { slices: m.slices, window, augmentation: m.augmentation ?? VIEW_AUGMENTATION }, rng) };
  return { kind: 'cubes', data: drawProxy3d(m, volumes, window, rng) };
}

/** The loss of one batch (call inside tf.variableGrads). Both views go through the network in one pass. */
export function batchLoss(m: MethodConfig, model: TrainableModel, batch: Batch): tf.Scalar {
  if (batch.kind === 'sorting') {
    if (m.kind !== 'sorting') throw new TrainError(`a sorting batch was drawn for method ${m.kind}`);
    const b = batch.data;
    const x = tf.tensor4d(b.images, [...b.shape] as [number, number, number, number]);
    const scores = tf.reshape(model.apply(x, true), [b.volumesPerBatch, b.slicesPerVolume]) as tf.Tensor2D;
    const positions = tf.tensor2d(b.positionsMm, [b.volumesPerBatch, b.slicesPerVolume]);
    return sortingLoss(scores, positions, m.loss);
  }
  if (batch.kind === 'cubes') {
    if (!isProxy3d(m.kind)) throw new TrainError(`a cube batch was drawn for method ${m.kind}`);
    return proxy3dLoss(m as Proxy3dConfig, model, batch.data);
  }
  const b = batch.data;
  const [n, s] = b.shape;
  const x = tf.concat([tf.tensor4d(b.view1, [n, s, s, 1]), tf.tensor4d(b.view2, [n, s, s, 1])], 0);
  const z = model.apply(x, true);
  const [z1, z2] = tf.split(z, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
  if (m.kind === 'simclr') return ntXentLoss(z1, z2, m.temperature === undefined ? {} : { temperature: m.temperature });
  if (m.kind === 'barlow') return barlowTwinsLoss(z1, z2, m.lambda === undefined ? {} : { lambda: m.lambda });
  throw new TrainError(`a view batch was drawn for method ${m.kind}`);
}
