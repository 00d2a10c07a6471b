import { dot, reorient, resample } from '@tomosort/volume';
import type { Plane, Volume } from '@tomosort/volume';
import { PretextError } from './errors';

/**
 * A volume made ready for slice sampling: stacked across `plane`, each slice resampled to
 * `size × size` (same field of view), values still in modality units (HU for CT), Float32.
 * Slice k lies at `positionsMm[k]` along the plane normal, in patient coordinates, so
 * positions are comparable between volumes that share a patient frame.
 */
export interface PreparedVolume {
  readonly id: string;
  readonly size: number;
  readonly slices: number;
  /** `slices × size × size` values, slice-major. */
  readonly data: Float32Array;
  /** Millimetres between slices. */
  readonly spacingMm: number;
  /** Patient position (mm) of slice 0 along the plane normal; slice k is at first + k·spacing. */
  readonly firstMm: number;
  readonly plane: Plane;
}

export interface PrepareOptions {
  readonly plane: Plane;
  readonly size: number;
}

/** Reorients to `plane` and resamples in-plane to `size²` (anti-aliased linear). */
export function prepareVolume(id: string, v: Volume, opts: PrepareOptions): PreparedVolume {
  if (!Number.isInteger(opts.size) || opts.size < 4) throw new PretextError(`${id}: slice size must be an integer ≥ 4, got ${opts.size}`);
  const r = reorient(v, opts.plane);
  if (r.dims[2] < 2) throw new PretextError(`${id}: needs at least 2 slices across the ${opts.plane} plane, has ${r.dims[2]}`);
  const s = resample(r, [{ kind: 'size', size: opts.size }, { kind: 'size', size: opts.size }, { kind: 'keep' }]);
  return {
    id,
    size: opts.size,
    slices: s.dims[2],
    data: s.data,
    spacingMm: s.spacing[2],
    firstMm: dot(s.origin, s.direction[2]),
    plane: opts.plane,
  };
}

/** Extent (mm) between the first and last slice centres. */
export const extentMm = (p: PreparedVolume): number => (p.slices - 1) * p.spacingMm;

/**
 * The slice `offsetMm` millimetres past slice 0, linearly interpolated between its two
 * neighbouring slices (clamped at the ends). Writes `size²` HU values into `out`.
 */
export function sliceAtMm(p: PreparedVolume, offsetMm: number, out = new Float32Array(p.size * p.size)): Float32Array {
  const plane = p.size * p.size;
  const k = Math.min(p.slices - 1, Math.max(0, offsetMm / p.spacingMm));
  const k0 = Math.min(p.slices - 2, Math.floor(k));
  const t = k - k0;
  const a = k0 * plane;
  const b = a + plane;
  for (let n = 0; n < plane; n++) out[n] = p.data[a + n]! * (1 - t) + p.data[b + n]! * t;
  return out;
}
