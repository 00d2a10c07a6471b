import { spearman } from '@tomosort/losses';
import { mulberry32 } from '@tomosort/random';
import type { LocalizationCalibration } from './calibration';
import { fitCalibration } from './calibration';
import { fitScoreMap, median } from './scoreMap';
import type { ScoreMap } from './scoreMap';
import { localizeStack } from './stack';

/** A scored volume for evaluation: slice k at positionsMm[k], slices `spacingMm` apart (rising). */
export interface ScoredVolume {
  readonly positionsMm: ArrayLike<number>;
  readonly scores: Float32Array;
  readonly spacingMm: number;
  /**
   * Factor from this volume's positions to a frame shared by all volumes (the same anatomy at
   * the same scaled position): 1 / height for phantom subjects, 1 within one patient.
   */
  readonly scale: number;
}

/** A deterministic uniform integer draw in [0, n) (mulberry32), so evaluations repeat exactly. */
export function drawer(seed: number): (n: number) => number {
  const rng = mulberry32(seed);
  return (n) => Math.floor(rng() * n);
}

/**
 * First slices k of the n-slice stacks of `src` whose whole extent maps inside `ref`'s (both
 * through their shared frame): the stacks a placement in `ref` can be judged on.
 */
export function startsWithin(src: ScoredVolume, ref: ScoredVolume, n: number): number[] {
  const lo = ref.positionsMm[0]! * ref.scale;
  const hi = ref.positionsMm[ref.positionsMm.length - 1]! * ref.scale;
  const starts: number[] = [];
  for (let k = 0; k + n <= src.scores.length; k++) {
    if (src.positionsMm[k]! * src.scale >= lo && src.positionsMm[k + n - 1]! * src.scale <= hi) starts.push(k);
  }
  return starts;
}

/** Errors (mm) of stacks placed in references, by stack size; `references` counts fitted ones. */
export interface StackErrors {
  readonly errorsMm: ReadonlyMap<number, readonly number[]>;
  readonly references: number;
  /** References whose scores did not order them (|ρ| < 0.5): nothing could be placed in them. */
  readonly refused: number;
}

/**
 * Held-out localization: every volume is the reference (its score map fitted) for stacks of each
 * size cut at random from every other volume, or from itself too when `withinSelf` (one patient).
 * Only stacks whose whole extent maps inside the reference are drawn. Error = |placed start −
 * true start|, the truth being the stack's first position in the shared frame, mapped into the
 * reference (position · scale_stack / scale_reference).
 */
export function stackLocalizationErrors(
  volumes: readonly ScoredVolume[],
  opts: {
    readonly stacks: readonly number[];
    readonly perPair: number;
    readonly seed: number;
    readonly withinSelf?: boolean;
    /** Only these (reference, source) index pairs; default every pair. */
    readonly pairs?: (reference: number, source: number) => boolean;
  },
): StackErrors {
  const errors = new Map<number, number[]>(opts.stacks.map((n) => [n, []]));
  const draw = drawer(opts.seed);
  let references = 0;
  let refused = 0;
  for (const [r, ref] of volumes.entries()) {
    if (opts.pairs && !volumes.some((_, q) => opts.pairs!(r, q))) continue;
    let map: ScoreMap;
    try {
      map = fitScoreMap(ref.positionsMm, ref.scores);
    } catch {
      refused += 1;
      continue;
    }
    references += 1;
    for (const [q, src] of volumes.entries()) {
      if ((src === ref && !opts.withinSelf) || (opts.pairs && !opts.pairs(r, q))) continue;
      for (const n of opts.stacks) {
        const starts = startsWithin(src, ref, n);
        for (let t = 0; t < opts.perPair && starts.length > 0; t++) {
          const k = starts[draw(starts.length)]!;
          const place = localizeStack(map, src.scores.subarray(k, k + n), src.spacingMm);
          const truth = (src.positionsMm[k]! * src.scale) / ref.scale;
          errors.get(n)!.push(Math.abs(place.startMm - truth));
        }
      }
    }
  }
  return { errorsMm: errors, references, refused };
}

/**
 * Measures how far stacks land from the truth across subjects (every volume a reference for
 * stacks of every other, {@link stackLocalizationErrors}) and fits the error model of
 * {@link LocalizationCalibration} to it. Use volumes no model saw in training; defaults: stacks of
 * 1, 3 and 10 slices, 8 per pair, seed 0.
 */
export function calibrateLocalization(
  volumes: readonly ScoredVolume[],
  opts: { readonly stacks?: readonly number[]; readonly perPair?: number; readonly seed?: number } = {},
): LocalizationCalibration {
  const e = stackLocalizationErrors(volumes, { stacks: opts.stacks ?? CALIBRATION_STACKS, perPair: opts.perPair ?? 8, seed: opts.seed ?? 0 });
  return fitCalibration(e.errorsMm, volumes.length);
}

/** Stack sizes a calibration measures by default. */
export const CALIBRATION_STACKS = [1, 3, 10] as const;

/** Median error per stack size (mm), null where nothing could be placed. */
export function medianStackErrors(e: StackErrors): Record<string, number | null> {
  return Object.fromEntries([...e.errorsMm].map(([n, xs]) => [String(n), xs.length > 0 ? median(xs) : null]));
}

/** Mean Spearman ρ between score and position over volumes. */
export function meanSpearman(volumes: readonly ScoredVolume[]): number {
  return volumes.reduce((s, v) => s + spearman(v.scores, v.positionsMm), 0) / Math.max(1, volumes.length);
}
