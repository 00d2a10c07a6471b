import { InvalidGeometryError } from './errors';

/** A display/intensity window in the volume's units (HU for CT). */
export interface HuWindow {
  readonly center: number;
  readonly width: number;
}

/** Common CT windows (centre/width in HU). */
export const HU_WINDOWS = {
  /** Soft tissue, abdomen. */
  softTissue: { center: 40, width: 400 },
  brain: { center: 40, width: 80 },
  lung: { center: -600, width: 1500 },
  bone: { center: 400, width: 1800 },
  /** Wide window for pre-training: air to dense bone. */
  wide: { center: 0, width: 2000 },
} as const satisfies Record<string, HuWindow>;

/**
 * Maps values linearly from [center − width/2, center + width/2] to [0, 1], clamping outside.
 * @returns a new Float32Array (or `out` when given)
 */
export function applyWindow(data: ArrayLike<number>, w: HuWindow, out = new Float32Array(data.length)): Float32Array {
  if (!(w.width > 0)) throw new InvalidGeometryError(`window width must be positive, got ${w.width}`);
  if (out.length !== data.length) throw new InvalidGeometryError(`output holds ${out.length} values, input ${data.length}`);
  const lo = w.center - w.width / 2;
  const inv = 1 / w.width;
  for (let n = 0; n < data.length; n++) {
    const x = (data[n]! - lo) * inv;
    out[n] = x < 0 ? 0 : x > 1 ? 1 : x;
  }
  return out;
}

/** Mean 0, standard deviation 1 (a constant input maps to all zeros). */
export function zscore(data: ArrayLike<number>, out = new Float32Array(data.length)): Float32Array {
  let mean = 0;
  for (let n = 0; n < data.length; n++) mean += data[n]!;
  mean /= data.length || 1;
  let sq = 0;
  for (let n = 0; n < data.length; n++) sq += (data[n]! - mean) ** 2;
  const sd = Math.sqrt(sq / (data.length || 1));
  const inv = sd > 0 ? 1 / sd : 0;
  for (let n = 0; n < data.length; n++) out[n] = (data[n]! - mean) * inv;
  return out;
}
