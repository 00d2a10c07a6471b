// The five 3D proxy tasks of Taleb et al. 2020 as pre-training methods: how a step's cubes are
// drawn (@tomosort/pretext), which head the network needs, and the loss.
import * as tf from '@tensorflow/tfjs-core';
import { classificationLoss, infoNceLoss, tripletLoss } from '@tomosort/losses';
import { classifierModelSpec, cpcModelSpec, projectionModelSpec } from '@tomosort/models';
import type { EncoderSpec, ModelSpec } from '@tomosort/models';
import { CUBE_ROTATIONS, EXEMPLAR_AUGMENTATION, GRID3_CELLS, RPL_CLASSES, cpcBatch, exemplarBatch, jigsawBatch, jigsawPermutations, rotationBatch, rplBatch } from '@tomosort/pretext';
import type { CubeAugmentation, CubeBatch, PatchGrid, PreparedVolume } from '@tomosort/pretext';
import type { Rng } from '@tomosort/random';
import type { HuWindow } from '@tomosort/volume';
import { TrainError } from './errors';
import type { TrainableModel } from './model';

/** A 3D proxy task and its batch settings; `samples` per step. */
export type Proxy3dConfig =
  | { readonly kind: 'rotation3d'; readonly samples: number; readonly side: number }
  | { readonly kind: 'rpl3d'; readonly samples: number; readonly grid: PatchGrid }
  | { readonly kind: 'jigsaw3d'; readonly samples: number; readonly grid: PatchGrid; readonly permutations: number }
  | { readonly kind: 'exemplar3d'; readonly samples: number; readonly side: number; readonly margin?: number; readonly augmentation?: CubeAugmentation }
  | { readonly kind: 'cpc3d'; readonly samples: number; readonly grid: PatchGrid; readonly contextRows: number };

export type Proxy3dName = Proxy3dConfig['kind'];
export const PROXY3D_METHODS: readonly Proxy3dName[] = ['rotation3d', 'rpl3d', 'jigsaw3d', 'exemplar3d', 'cpc3d'];
export const isProxy3d = (kind: string): kind is Proxy3dName => (PROXY3D_METHODS as readonly string[]).includes(kind);

/** Cubes per sample the encoder sees. */
export function cubesPerSample(m: Proxy3dConfig): number {
  switch (m.kind) {
    case 'rotation3d':
      return 1;
    case 'rpl3d':
      return 2;
    case 'jigsaw3d':
      return GRID3_CELLS;
    case 'exemplar3d':
      return 3;
    case 'cpc3d':
      return m.grid.grid ** 3;
  }
}

/** Side of the cubes the encoder takes. */
export const cubeSide = (m: Proxy3dConfig): number => (m.kind === 'rotation3d' || m.kind === 'exemplar3d' ? m.side : m.grid.patch);

/** The network a 3D proxy task trains: the encoder with the task's head. */
export function proxy3dModelSpec(m: Proxy3dConfig, encoder: EncoderSpec): ModelSpec {
  if (encoder.dims !== 3) throw new TrainError(`${m.kind} trains a 3D encoder, got ${encoder.name}`);
  switch (m.kind) {
    case 'rotation3d':
      return classifierModelSpec(encoder, { patches: 1, classes: CUBE_ROTATIONS });
    case 'rpl3d':
      return classifierModelSpec(encoder, { patches: 2, classes: RPL_CLASSES });
    case 'jigsaw3d':
      return classifierModelSpec(encoder, { patches: GRID3_CELLS, classes: m.permutations });
    case 'exemplar3d':
      return projectionModelSpec(encoder);
    case 'cpc3d':
      return cpcModelSpec(encoder, { grid: m.grid.grid, contextRows: m.contextRows });
  }
}

const permutationSets = new Map<number, number[][]>();
const permutationsOf = (count: number) => permutationSets.get(count) ?? permutationSets.set(count, jigsawPermutations(count)).get(count)!;

/** Draws one step's cubes for `m`. */
export function drawProxy3d(m: Proxy3dConfig, volumes: readonly PreparedVolume[], window: HuWindow, rng: Rng): CubeBatch {
  switch (m.kind) {
    case 'rotation3d':
      return rotationBatch(volumes, { samples: m.samples, side: m.side, window }, rng);
    case 'rpl3d':
      return rplBatch(volumes, { samples: m.samples, grid: m.grid, window }, rng);
    case 'jigsaw3d':
      return jigsawBatch(volumes, { samples: m.samples, grid: m.grid, window, permutations: permutationsOf(m.permutations) }, rng);
    case 'exemplar3d':
      return exemplarBatch(volumes, { samples: m.samples, side: m.side, window, augmentation: m.augmentation ?? EXEMPLAR_AUGMENTATION }, rng);
    case 'cpc3d':
      return cpcBatch(volumes, { samples: m.samples, grid: m.grid, window }, rng);
  }
}

/** The network's output on a cube batch (one pass over all N·K cubes). */
export const applyCubes = (model: TrainableModel, b: CubeBatch, training: boolean): tf.Tensor2D => model.apply(tf.tensor5d(b.images, [...b.shape] as [number, number, number, number, number]), training) as tf.Tensor2D;

/** Rows scaled to unit length (the exemplar embeddings, as FaceNet: the margin is then on a fixed scale). */
const unitRows = (z: tf.Tensor2D): tf.Tensor2D => tf.mul(z, tf.rsqrt(tf.maximum(tf.sum(tf.square(z), 1, true), 1e-12)));

/**
 * The loss of one cube batch (inside tf.variableGrads): cross-entropy of the classes (rotation,
 * RPL, jigsaw); the triplet loss (margin 1) of unit-length embeddings (exemplar); InfoNCE of the
 * CPC predictions against every target code of the batch (cpc).
 */
export function proxy3dLoss(m: Proxy3dConfig, model: TrainableModel, b: CubeBatch): tf.Scalar {
  const out = applyCubes(model, b, true);
  switch (m.kind) {
    case 'rotation3d':
    case 'rpl3d':
    case 'jigsaw3d':
      return classificationLoss(out, b.labels);
    case 'exemplar3d': {
      const z = unitRows(out);
      const n = b.shape[0] / 3;
      const [a, p, neg] = tf.split(tf.reshape(z, [n, 3, z.shape[1]]), 3, 1).map((t) => tf.reshape(t, [n, z.shape[1]]) as tf.Tensor2D) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      return tripletLoss(a, p, neg, m.margin === undefined ? {} : { margin: m.margin });
    }
    case 'cpc3d': {
      const [pred, codes] = tf.split(out, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      return infoNceLoss(pred, codes);
    }
  }
}

/**
 * How often the network does the task right on a batch: the class for rotation, RPL, jigsaw;
 * d(anchor, positive) < d(anchor, negative) for exemplar; the positive scoring highest among all
 * target codes for CPC. Chance: 1/10, 1/26, 1/permutations, 1/2, 1/(rows of the batch).
 */
export function proxy3dAccuracy(m: Proxy3dConfig, model: TrainableModel, b: CubeBatch): { readonly accuracy: number; readonly chance: number } {
  return tf.tidy(() => {
    const out = applyCubes(model, b, false);
    switch (m.kind) {
      case 'rotation3d':
      case 'rpl3d':
      case 'jigsaw3d': {
        const predicted = tf.argMax(out, 1).dataSync();
        const hits = b.labels.reduce((n, l, i) => n + (predicted[i] === l ? 1 : 0), 0);
        return { accuracy: hits / b.labels.length, chance: 1 / out.shape[1] };
      }
      case 'exemplar3d': {
        const z = unitRows(out).arraySync();
        const d = (x: number[], y: number[]) => x.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0);
        let hits = 0;
        for (let n = 0; n < z.length / 3; n++) if (d(z[3 * n]!, z[3 * n + 1]!) < d(z[3 * n]!, z[3 * n + 2]!)) hits++;
        return { accuracy: hits / (z.length / 3), chance: 0.5 };
      }
      case 'cpc3d': {
        const [pred, codes] = tf.split(out, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
        const best = tf.argMax(tf.matMul(pred, codes, false, true), 1).dataSync();
        const hits = Array.from(best).filter((j, i) => j === i).length;
        return { accuracy: hits / best.length, chance: 1 / best.length };
      }
    }
  });
}
