import * as tf from '@tensorflow/tfjs-core';
import { spearman } from '@tomosort/losses';
import { extentMm, sliceAtMm } from '@tomosort/pretext';
import type { PreparedVolume } from '@tomosort/pretext';
import { applyWindow } from '@tomosort/volume';
import type { HuWindow } from '@tomosort/volume';
import type { TrainableModel } from './model';

/** Slice-order quality on held-out volumes: Spearman ρ between scores and true positions. */
export interface SortingEvaluation {
  /** Mean ρ over volumes. */
  readonly spearman: number;
  readonly perVolume: readonly { readonly id: string; readonly spearman: number }[];
}

/**
 * Scores `slices` evenly spaced, unaugmented slices of each volume (inference mode) and
 * returns Spearman's ρ between score and position, per volume and averaged.
 */
export async function evaluateSorting(
  model: TrainableModel,
  volumes: readonly PreparedVolume[],
  window: HuWindow,
  slices = 16,
): Promise<SortingEvaluation> {
  const perVolume: { id: string; spearman: number }[] = [];
  for (const v of volumes) {
    const plane = v.size * v.size;
    const images = new Float32Array(slices * plane);
    const positions: number[] = [];
    for (let n = 0; n < slices; n++) {
      const offset = (extentMm(v) * n) / (slices - 1);
      applyWindow(sliceAtMm(v, offset), window, images.subarray(n * plane, (n + 1) * plane));
      positions.push(v.firstMm + offset);
    }
    const scores = tf.tidy(() => model.apply(tf.tensor4d(images, [slices, v.size, v.size, 1]), false));
    const values = await scores.data();
    scores.dispose();
    perVolume.push({ id: v.id, spearman: spearman(values, positions) });
  }
  const mean = perVolume.reduce((s, x) => s + x.spearman, 0) / Math.max(1, perVolume.length);
  return { spearman: mean, perVolume };
}
