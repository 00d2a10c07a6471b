import { LocalizeError } from './errors';
import { median } from './scoreMap';

/**
 * How far a stack placed by {@link localizeStack} lies from the truth when reference and stack
 * come from different subjects, measured on held-out volumes ({@link calibrateLocalization}).
 *
 * Error model: a stack's error is a part every slice of the stack shares (the subject's score
 * offset against the reference, the map's local bias) plus each slice's own noise, so for n
 * slices sd(n) = √(subjectSdMm² + sliceSdMm² / n); the interval at level L is
 * startMm ± z_L · sd(n), z_L the conformal quantile of |error| / sd(n) over the calibration's
 * stacks (no normal assumption: the errors have heavy tails).
 */
export interface LocalizationCalibration {
  /** sd of the error shared by all slices of a stack (mm). */
  readonly subjectSdMm: number;
  /** sd of one slice's own error beyond the shared part (mm); the median of n votes divides its variance by n. */
  readonly sliceSdMm: number;
  /** Half-width of the 50 % interval in units of sd(n). */
  readonly z50: number;
  /** Half-width of the 90 % interval in units of sd(n). */
  readonly z90: number;
  /** Stacks the calibration measured (all sizes together). */
  readonly stacks: number;
  /** Volumes it used (references and stack sources: pairs of distinct volumes). */
  readonly volumes: number;
}

/** The calibrated sd (mm) of an n-slice stack: √(subjectSd² + sliceSd² / n). */
export function calibratedSdMm(c: LocalizationCalibration, n: number): number {
  return Math.sqrt(c.subjectSdMm ** 2 + c.sliceSdMm ** 2 / n);
}

/**
 * Fits a {@link LocalizationCalibration} to measured |errors| (mm) of stacks by size: the robust
 * variance per size, v_n = (1.4826 · median |e|)², fitted by least squares to a + b / n with
 * a, b ≥ 0 (subjectSd = √a, sliceSd = √b); then z_L = the ⌈(N + 1)·L⌉-th smallest of the N
 * values |e| / sd(n) (split-conformal: a new exchangeable stack lies inside with probability ≥ L).
 */
export function fitCalibration(errorsMm: ReadonlyMap<number, readonly number[]>, volumes: number): LocalizationCalibration {
  const sizes = [...errorsMm].filter(([, e]) => e.length > 0);
  const stacks = sizes.reduce((s, [, e]) => s + e.length, 0);
  if (stacks < 20) throw new LocalizeError(`a localization calibration needs at least 20 placed stacks, got ${stacks}`);
  const points = sizes.map(([n, e]) => ({ x: 1 / n, v: (1.4826 * median(e)) ** 2 }));
  const mean = (f: (p: { x: number; v: number }) => number) => points.reduce((s, p) => s + f(p), 0) / points.length;
  let a: number;
  let b: number;
  const mx = mean((p) => p.x);
  const sxx = mean((p) => (p.x - mx) ** 2);
  if (sxx === 0) {
    // One stack size: the split between shared and per-slice error is not identified; call it all shared.
    a = mean((p) => p.v);
    b = 0;
  } else {
    b = mean((p) => (p.x - mx) * (p.v - mean((q) => q.v))) / sxx;
    a = mean((p) => p.v) - b * mx;
    if (b < 0) {
      b = 0;
      a = mean((p) => p.v);
    } else if (a < 0) {
      a = 0;
      b = mean((p) => p.x * p.v) / mean((p) => p.x * p.x);
    }
  }
  const sd = (n: number) => Math.sqrt(a + b / n);
  const u = sizes.flatMap(([n, e]) => e.map((x) => x / sd(n))).sort((p, q) => p - q);
  const conformal = (level: number) => u[Math.min(u.length - 1, Math.ceil((u.length + 1) * level) - 1)]!;
  return { subjectSdMm: Math.sqrt(a), sliceSdMm: Math.sqrt(b), z50: conformal(0.5), z90: conformal(0.9), stacks, volumes };
}

/** Manifest metric names of a calibration (a model's `metrics` maps names to numbers). */
const METRIC_KEYS = {
  subjectSdMm: 'localizeSubjectSdMm',
  sliceSdMm: 'localizeSliceSdMm',
  z50: 'localizeZ50',
  z90: 'localizeZ90',
  stacks: 'localizeCalibrationStacks',
  volumes: 'localizeCalibrationVolumes',
} as const satisfies Record<keyof LocalizationCalibration, string>;

/** The calibration as manifest metrics (`localizeSubjectSdMm`, …). */
export function calibrationToMetrics(c: LocalizationCalibration): Record<string, number> {
  return Object.fromEntries(Object.entries(METRIC_KEYS).map(([k, name]) => [name, c[k as keyof LocalizationCalibration]]));
}

/** The calibration stored in a model's metrics, or undefined when the model has none. */
export function calibrationFromMetrics(metrics: Readonly<Record<string, number>>): LocalizationCalibration | undefined {
  const get = (k: keyof LocalizationCalibration) => metrics[METRIC_KEYS[k]];
  const values = Object.keys(METRIC_KEYS).map((k) => get(k as keyof LocalizationCalibration));
  if (values.every((v) => v === undefined)) return undefined;
  if (values.some((v) => v === undefined || !Number.isFinite(v))) {
    throw new LocalizeError(`the model's localization calibration is incomplete (needs ${Object.values(METRIC_KEYS).join(', ')})`);
  }
  return { subjectSdMm: get('subjectSdMm')!, sliceSdMm: get('sliceSdMm')!, z50: get('z50')!, z90: get('z90')!, stacks: get('stacks')!, volumes: get('volumes')! };
}
