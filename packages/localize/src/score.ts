import * as tf from '@tensorflow/tfjs-core';
import { applyWindow } from '@tomosort/volume';
import type { HuWindow } from '@tomosort/volume';
import type { PreparedVolume } from '@tomosort/pretext';

/** Anything that maps windowed slices [N, S, S, 1] to one score each ([N, 1]). */
export interface SliceScorer {
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor;
}

/** A windowed value further than this from the slice's median counts as structure (window units: 0.05 = 20 HU at width 400). */
export const BLANK_LEVEL = 0.05;
/** A slice with structure in fewer than this fraction of its pixels is blank (0.5 %: 5 pixels of 32²). */
export const BLANK_FRACTION = 0.005;

/**
 * Whether a windowed slice (values in [0, 1], as the network sees it) is blank: fewer than
 * `BLANK_FRACTION` of its pixels lie more than `BLANK_LEVEL` from the slice's median. Air beyond
 * the patient (all clamped to 0 by a soft-tissue window, or noise of a few HU in a wide one) and
 * constant padding are blank; any slice that shows a body cross-section is not.
 */
export function isBlankSlice(windowed: ArrayLike<number>): boolean {
  const n = windowed.length;
  if (n === 0) return true;
  const sorted = Float32Array.from(windowed).sort();
  const med = sorted[n >> 1]!;
  let off = 0;
  for (let i = 0; i < n; i++) if (Math.abs(windowed[i]! - med) > BLANK_LEVEL) off++;
  return off < BLANK_FRACTION * n;
}

/** Per-slice scores of a prepared volume, with the slices' positions and which of them are blank. */
export interface VolumeScores {
  /** Position of slice k: `firstMm + k · spacingMm`. */
  readonly positionsMm: Float64Array;
  readonly scores: Float32Array;
  /** 1 where the slice is blank ({@link isBlankSlice}); the order check leaves those out. */
  readonly blank: Uint8Array;
}

/** Scores every slice of a prepared volume (inference mode, `batch` slices per pass). */
export async function scoreVolume(model: SliceScorer, v: PreparedVolume, window: HuWindow, batch = 32): Promise<VolumeScores> {
  const plane = v.size * v.size;
  const scores = new Float32Array(v.slices);
  const blank = new Uint8Array(v.slices);
  const input = new Float32Array(batch * plane);
  for (let k0 = 0; k0 < v.slices; k0 += batch) {
    const n = Math.min(batch, v.slices - k0);
    const x = applyWindow(v.data.subarray(k0 * plane, (k0 + n) * plane), window, input.subarray(0, n * plane));
    for (let k = 0; k < n; k++) blank[k0 + k] = isBlankSlice(x.subarray(k * plane, (k + 1) * plane)) ? 1 : 0;
    const out = tf.tidy(() => tf.reshape(model.apply(tf.tensor4d(x, [n, v.size, v.size, 1]), false), [n]));
    scores.set(await out.data(), k0);
    out.dispose();
  }
  const positionsMm = Float64Array.from({ length: v.slices }, (_, k) => v.firstMm + k * v.spacingMm);
  return { positionsMm, scores, blank };
}
