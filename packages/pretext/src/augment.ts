import { fillGaussian, uniform } from '@tomosort/random';
import type { Rng } from '@tomosort/random';
import { inWindowUnits } from '@tomosort/volume';
import type { HuWindow } from '@tomosort/volume';

/** Random changes applied to each sampled slice. Every field at 0 / false means none. */
export interface Augmentation {
  /** Standard deviation of added Gaussian noise, HU. */
  readonly noiseHu: number;
  /** Largest |HU shift|, drawn uniformly. */
  readonly huShift: number;
  /** Largest relative HU scale change: scale ∈ [1 − huScale, 1 + huScale]. */
  readonly huScale: number;
  /** Largest |in-plane rotation|, degrees. */
  readonly rotationDeg: number;
  /** Random left-right and up-down flips (each with probability 1/2). */
  readonly flip: boolean;
  /** Random resized crop: the crop's side is this fraction range of the image side ([1, 1] = none). */
  readonly cropScale: readonly [number, number];
}

/** Mild augmentations for SortingLoss (defaults): the slice's anatomy must stay recognisable. */
export const SORTING_AUGMENTATION: Augmentation = {
  noiseHu: 10,
  huShift: 20,
  huScale: 0.05,
  rotationDeg: 10,
  flip: true,
  cropScale: [1, 1],
};

/**
 * SortingLoss on volumes whose values were mapped onto the window by percentiles (MR and other
 * non-CT): their gain depends on what the field of view holds (Colin27's 99.5th percentile is 178
 * over the whole head, 153–198 over 10-slice sub-stacks: ±15 %), so the net must not read position
 * from brightness. With the CT defaults' ±5 %, a model pre-trained on Colin27 placed 10-slice
 * sub-stacks of it in the whole volume 3–8 mm off; with these, 1.0–1.3 mm (3 sub-stacks).
 */
export const MAPPED_SORTING_AUGMENTATION: Augmentation = { ...SORTING_AUGMENTATION, huShift: 40, huScale: 0.25 };

/** The SortingLoss augmentation for these volumes: the CT one when all hold HU, else {@link MAPPED_SORTING_AUGMENTATION}. */
export function sortingAugmentationFor(volumes: readonly { readonly modality: string }[]): Augmentation {
  return volumes.every((v) => inWindowUnits(v.modality)) ? SORTING_AUGMENTATION : MAPPED_SORTING_AUGMENTATION;
}

/** Strong augmentations for the two views of SimCLR / Barlow Twins (crop + intensity + noise). */
export const VIEW_AUGMENTATION: Augmentation = {
  noiseHu: 25,
  huShift: 60,
  huScale: 0.15,
  rotationDeg: 20,
  flip: true,
  cropScale: [0.6, 1],
};

export const NO_AUGMENTATION: Augmentation = { noiseHu: 0, huShift: 0, huScale: 0, rotationDeg: 0, flip: false, cropScale: [1, 1] };

/** Value outside the field of view after rotation or crop: air. */
const FILL_HU = -1024;

/**
 * Augments one `size × size` HU slice and maps it through the window to [0, 1].
 * Geometry (crop, rotation, flips) is one inverse mapping sampled bilinearly; then
 * HU' = HU · scale + shift + noise; then the window.
 */
export function augmentSlice(
  src: Float32Array,
  size: number,
  window: HuWindow,
  aug: Augmentation,
  rng: Rng,
  out = new Float32Array(size * size),
  noise = new Float32Array(size * size),
): Float32Array {
  const angle = (uniform(rng, -aug.rotationDeg, aug.rotationDeg) * Math.PI) / 180;
  const fx = aug.flip && rng() < 0.5 ? -1 : 1;
  const fy = aug.flip && rng() < 0.5 ? -1 : 1;
  const crop = uniform(rng, aug.cropScale[0], aug.cropScale[1]);
  // Crop centre: anywhere that keeps the crop inside the image.
  const slack = ((1 - crop) * (size - 1)) / 2;
  const cx = (size - 1) / 2 + uniform(rng, -slack, slack);
  const cy = (size - 1) / 2 + uniform(rng, -slack, slack);
  const scale = 1 + uniform(rng, -aug.huScale, aug.huScale);
  const shift = uniform(rng, -aug.huShift, aug.huShift);
  const identity = angle === 0 && fx === 1 && fy === 1 && crop === 1;
  const cos = Math.cos(angle) * crop;
  const sin = Math.sin(angle) * crop;
  const c = (size - 1) / 2;
  if (aug.noiseHu > 0) fillGaussian(rng, noise);
  const lo = window.center - window.width / 2;
  const inv = 1 / window.width;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let hu: number;
      if (identity) {
        hu = src[y * size + x]!;
      } else {
        const u = (x - c) * fx;
        const v = (y - c) * fy;
        const sx = cx + cos * u - sin * v;
        const sy = cy + sin * u + cos * v;
        const edge = size - 1 + 1e-6;
        if (sx < -1e-6 || sy < -1e-6 || sx > edge || sy > edge) {
          hu = FILL_HU;
        } else {
          const x0 = Math.min(size - 2, Math.max(0, Math.floor(sx)));
          const y0 = Math.min(size - 2, Math.max(0, Math.floor(sy)));
          const tx = Math.min(1, Math.max(0, sx - x0));
          const ty = Math.min(1, Math.max(0, sy - y0));
          const p = y0 * size + x0;
          hu =
            (src[p]! * (1 - tx) + src[p + 1]! * tx) * (1 - ty) + (src[p + size]! * (1 - tx) + src[p + size + 1]! * tx) * ty;
        }
      }
      const n = y * size + x;
      const h = hu * scale + shift + (aug.noiseHu > 0 ? noise[n]! * aug.noiseHu : 0);
      const w = (h - lo) * inv;
      out[n] = w < 0 ? 0 : w > 1 ? 1 : w;
    }
  }
  return out;
}
