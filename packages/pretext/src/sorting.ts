import type { Rng } from '@tomosort/random';
import { uniform } from '@tomosort/random';
import type { HuWindow } from '@tomosort/volume';
import { augmentSlice } from './augment';
import type { Augmentation } from './augment';
import { PretextError } from './errors';
import { extentMm, sliceAtMm } from './prepare';
import type { PreparedVolume } from './prepare';
import { pickVolumes } from './pick';

/** How a SortingLoss batch is drawn. */
export interface SortingBatchConfig {
  /** B: volumes per batch. */
  readonly volumesPerBatch: number;
  /** K: slices per volume. */
  readonly slicesPerVolume: number;
  /**
   * Range of the gap between consecutive sampled slices, mm (drawn uniformly per volume).
   * When K slices at that gap do not fit in a volume, the gap shrinks to fit.
   */
  readonly gapMm: readonly [number, number];
  readonly window: HuWindow;
  readonly augmentation: Augmentation;
}

/** B volumes × K slices, NHWC images in [0, 1] and each slice's position along the stack. */
export interface SortingBatch {
  /** `[B·K, S, S, 1]`, volume-major: slices of volume b are rows b·K … b·K + K − 1. */
  readonly images: Float32Array;
  readonly shape: readonly [number, number, number, number];
  /** `[B, K]` patient positions (mm) along the plane normal; larger = further along the stack. */
  readonly positionsMm: Float32Array;
  readonly volumeIds: readonly string[];
  readonly volumesPerBatch: number;
  readonly slicesPerVolume: number;
}

/**
 * Draws a SortingLoss batch: for each of B volumes, a random gap g in `gapMm`, a random start,
 * and K slices at start + i·g (linearly interpolated between stored slices), each augmented
 * independently and windowed. The slices of a row are returned in a random order, so nothing
 * but their content tells their position.
 */
export function sortingBatch(volumes: readonly PreparedVolume[], cfg: SortingBatchConfig, rng: Rng): SortingBatch {
  const B = cfg.volumesPerBatch;
  const K = cfg.slicesPerVolume;
  if (!Number.isInteger(B) || B < 1) throw new PretextError(`volumesPerBatch must be a positive integer, got ${B}`);
  if (!Number.isInteger(K) || K < 2) throw new PretextError(`slicesPerVolume must be an integer ≥ 2, got ${K}`);
  if (!(cfg.gapMm[0] > 0) || cfg.gapMm[1] < cfg.gapMm[0]) {
    throw new PretextError(`gapMm must be a range [min, max] with 0 < min ≤ max, got [${cfg.gapMm.join(', ')}]`);
  }
  const chosen = pickVolumes(volumes, B, rng);
  const S = chosen[0]!.size;
  const plane = S * S;
  const images = new Float32Array(B * K * plane);
  const positionsMm = new Float32Array(B * K);
  const hu = new Float32Array(plane);
  const noise = new Float32Array(plane);
  chosen.forEach((v, b) => {
    if (v.size !== S) throw new PretextError(`${v.id}: slice size ${v.size} differs from ${chosen[0]!.id}'s ${S}`);
    const extent = extentMm(v);
    const gap = Math.min(uniform(rng, cfg.gapMm[0], cfg.gapMm[1]), extent / (K - 1));
    const start = uniform(rng, 0, extent - gap * (K - 1));
    const order = Array.from({ length: K }, (_, i) => i);
    for (let i = K - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    order.forEach((i, slot) => {
      const offset = start + i * gap;
      sliceAtMm(v, offset, hu);
      const row = b * K + slot;
      augmentSlice(hu, S, cfg.window, cfg.augmentation, rng, images.subarray(row * plane, (row + 1) * plane), noise);
      positionsMm[row] = v.firstMm + offset;
    });
  });
  return {
    images,
    shape: [B * K, S, S, 1],
    positionsMm,
    volumeIds: chosen.map((v) => v.id),
    volumesPerBatch: B,
    slicesPerVolume: K,
  };
}
