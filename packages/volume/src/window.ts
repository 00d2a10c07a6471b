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

/**
 * How a volume's values reach a model's window (stored in the model's manifest):
 * `modality`: CT values are HU and go through the window as they are, as do 'OT' volumes (derived
 * or synthetic data in units their maker chose); any other modality (MR, PT, US, …) has no
 * absolute unit, so its own `percentiles` [low, high] (a robust per-volume range, in %) are mapped
 * linearly onto the window's range [center − width/2, center + width/2] first.
 */
export interface IntensityRule {
  readonly kind: 'modality';
  readonly percentiles: readonly [number, number];
}

/** Whether a modality's values go through the window as they are (CT in HU, OT in its maker's units). */
export const inWindowUnits = (modality: string): boolean => modality === 'CT' || modality === 'OT';

/** The rule every model uses unless its manifest says otherwise: CT as HU; others by their 0.5–99.5 percentiles. */
export const DEFAULT_INTENSITY: IntensityRule = { kind: 'modality', percentiles: [0.5, 99.5] };

/** Values at the given percentiles (0–100) of `data`, from a strided sample of at most ~1M values. */
export function percentiles(data: ArrayLike<number>, ps: readonly number[]): number[] {
  const step = Math.max(1, Math.floor(data.length / 1_000_000));
  const sample = new Float32Array(Math.ceil(data.length / step));
  for (let n = 0, m = 0; n < data.length; n += step, m++) sample[m] = data[n]!;
  sample.sort();
  return ps.map((p) => {
    if (!(p >= 0 && p <= 100)) throw new InvalidGeometryError(`percentile must be in 0..100, got ${p}`);
    const x = (p / 100) * (sample.length - 1);
    const lo = Math.floor(x);
    const hi = Math.min(sample.length - 1, lo + 1);
    return sample[lo]! + (sample[hi]! - sample[lo]!) * (x - lo);
  });
}

/**
 * The linear map `x ↦ a·x + b` that takes a volume of `modality` into the window's units under
 * `rule` (identity for CT). A volume whose robust range is empty (constant) maps to the window's low end.
 */
export function intensityMap(data: ArrayLike<number>, modality: string, window: HuWindow, rule: IntensityRule = DEFAULT_INTENSITY): { a: number; b: number } {
  if (inWindowUnits(modality)) return { a: 1, b: 0 };
  const [lo, hi] = percentiles(data, rule.percentiles) as [number, number];
  const wLo = window.center - window.width / 2;
  if (!(hi > lo)) return { a: 0, b: wLo };
  const a = window.width / (hi - lo);
  return { a, b: wLo - a * lo };
}

/**
 * How a volume's intensities reach a model under `rule`, in words (the CLI and the viewer say the
 * same): CT in HU (OT in its maker's units) through the window as they are; any other modality by
 * its percentiles mapped onto the window, with the values they are on this volume.
 */
export function describeIntensity(v: { readonly data: ArrayLike<number>; readonly modality: string }, window: HuWindow, rule: IntensityRule = DEFAULT_INTENSITY): string {
  const w = `${window.center}/${window.width}`;
  if (inWindowUnits(v.modality)) return `${v.modality} values go through the model's window ${w} as they are (${v.modality === 'CT' ? 'HU' : "their maker's units"})`;
  const [p0, p1] = rule.percentiles;
  const [lo, hi] = percentiles(v.data, rule.percentiles).map((x) => Number(x.toPrecision(4)));
  return `${v.modality} has no absolute unit: its ${p0}–${p1} percentiles (${lo}–${hi} on this series) are mapped onto the model's window ${w}, not taken as HU`;
}
