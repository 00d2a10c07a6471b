import { HU_WINDOWS, dot, reorient, toModelGrid } from '@tomosort/volume';
import type { HuWindow, IntensityRule, Plane, Volume } from '@tomosort/volume';
import { PretextError } from './errors';

/**
 * A volume made ready for slice sampling: stacked across `plane`, each slice resampled to
 * `size × size` (at `mmPerPixel` when given, else the same field of view stretched), values in
 * window units (HU for CT; other modalities mapped by the intensity rule), Float32.
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
  /** Millimetres per pixel in-plane when the physical scale is fixed. */
  readonly mmPerPixel?: number | undefined;
  /** The source's modality (CT values are HU; others were mapped onto the window by the intensity rule). */
  readonly modality: string;
}

export interface PrepareOptions {
  readonly plane: Plane;
  readonly size: number;
  /** Fixed physical scale (field of view size · mmPerPixel, centred); default: stretch each slice to size². */
  readonly mmPerPixel?: number | undefined;
  /** The model's window: non-CT volumes are mapped onto it by `intensity`. Default 40/400. */
  readonly window?: HuWindow | undefined;
  readonly intensity?: IntensityRule | undefined;
}

/**
 * Reorients to `plane`, resamples in-plane to `size²` (anti-aliased linear; at a fixed scale,
 * padding with the volume's lowest value) and maps non-CT intensities onto the window.
 */
export function prepareVolume(id: string, v: Volume, opts: PrepareOptions): PreparedVolume {
  if (!Number.isInteger(opts.size) || opts.size < 4) throw new PretextError(`${id}: slice size must be an integer ≥ 4, got ${opts.size}`);
  if (opts.mmPerPixel !== undefined && !(opts.mmPerPixel > 0 && Number.isFinite(opts.mmPerPixel))) {
    throw new PretextError(`${id}: mm per pixel must be a positive number, got ${opts.mmPerPixel}`);
  }
  const r = reorient(v, opts.plane);
  if (r.dims[2] < 2) throw new PretextError(`${id}: needs at least 2 slices across the ${opts.plane} plane, has ${r.dims[2]}`);
  const s = toModelGrid(r, v, { size: opts.size, mmPerPixel: opts.mmPerPixel }, opts.window ?? HU_WINDOWS.softTissue, opts.intensity);
  const data = s.data;
  return {
    id,
    size: opts.size,
    slices: s.dims[2],
    data,
    ...(opts.mmPerPixel === undefined ? {} : { mmPerPixel: opts.mmPerPixel }),
    spacingMm: s.spacing[2],
    firstMm: dot(s.origin, s.direction[2]),
    plane: opts.plane,
    modality: v.modality,
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

/**
 * The physical scale that fits `v`'s larger in-plane extent across `plane` (undefined: its own
 * slices) into `size` pixels (mm per pixel, rounded up to 0.01 mm): a default scale for a model
 * trained on volumes like it.
 */
export function fitMmPerPixel(v: Volume, plane: Plane | undefined, size: number): number {
  const r = plane === undefined ? v : reorient(v, plane);
  const extent = Math.max(r.dims[0] * r.spacing[0], r.dims[1] * r.spacing[1]);
  return Math.ceil((extent / size) * 100) / 100;
}
