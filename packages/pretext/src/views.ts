import type { Rng } from '@tomosort/random';
import { uniform } from '@tomosort/random';
import type { HuWindow } from '@tomosort/volume';
import { augmentSlice } from './augment';
import type { Augmentation } from './augment';
import { PretextError } from './errors';
import { extentMm, sliceAtMm } from './prepare';
import type { PreparedVolume } from './prepare';
import { pickVolumes } from './pick';

/** How a two-view batch (SimCLR, Barlow Twins) is drawn. */
export interface ViewBatchConfig {
  /** N: slices per batch; the batch holds 2N images. */
  readonly slices: number;
  readonly window: HuWindow;
  readonly augmentation: Augmentation;
}

/** Two independently augmented views of N slices: row n of `view1` and of `view2` is a positive pair. */
export interface ViewBatch {
  /** `[N, S, S, 1]` each, values in [0, 1]. */
  readonly view1: Float32Array;
  readonly view2: Float32Array;
  readonly shape: readonly [number, number, number, number];
}

/** Draws N slices (a random volume, a random position in it) and two augmented views of each. */
export function viewBatch(volumes: readonly PreparedVolume[], cfg: ViewBatchConfig, rng: Rng): ViewBatch {
  const N = cfg.slices;
  if (!Number.isInteger(N) || N < 2) throw new PretextError(`slices must be an integer ≥ 2 (negatives are needed), got ${N}`);
  const chosen = pickVolumes(volumes, N, rng);
  const S = chosen[0]!.size;
  const plane = S * S;
  const view1 = new Float32Array(N * plane);
  const view2 = new Float32Array(N * plane);
  const hu = new Float32Array(plane);
  const noise = new Float32Array(plane);
  chosen.forEach((v, n) => {
    if (v.size !== S) throw new PretextError(`${v.id}: slice size ${v.size} differs from ${chosen[0]!.id}'s ${S}`);
    sliceAtMm(v, uniform(rng, 0, extentMm(v)), hu);
    augmentSlice(hu, S, cfg.window, cfg.augmentation, rng, view1.subarray(n * plane, (n + 1) * plane), noise);
    augmentSlice(hu, S, cfg.window, cfg.augmentation, rng, view2.subarray(n * plane, (n + 1) * plane), noise);
  });
  return { view1, view2, shape: [N, S, S, 1] };
}
