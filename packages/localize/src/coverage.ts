import type { LocalizationCalibration } from './calibration';
import { LocalizeError } from './errors';
import { calibrateLocalization, drawer, startsWithin } from './evaluate';
import type { ScoredVolume } from './evaluate';
import { fitScoreMap, median } from './scoreMap';
import type { ScoreMap } from './scoreMap';
import { localizeStack } from './stack';

/** How well stated intervals hold on subjects a calibration never saw, for one stack size. */
export interface HeldOutCoverage {
  /** Stacks placed, and the (reference, stack subject) pairs they came from. */
  readonly stacks: number;
  readonly pairs: number;
  readonly medianErrorMm: number;
  /** Fraction of true starts inside the calibrated 50 % and 90 % intervals. */
  readonly calibrated50: number;
  readonly calibrated90: number;
  /** The same for the reference-only intervals (no calibration). */
  readonly referenceOnly50: number;
  readonly referenceOnly90: number;
}

/**
 * Leave two subjects out: for every ordered pair (reference r, stack subject s) the calibration
 * is fitted on the other volumes only ({@link calibrateLocalization}), then `perPair` random
 * stacks of s that lie inside r's extent are placed in r. Needs ≥ 5 volumes (3 to calibrate on).
 * References the scores do not order (|ρ| < 0.5), and pairs whose other volumes cannot be
 * calibrated on, are skipped. Null for a size nothing could be placed at.
 */
export function leaveTwoOutCoverage(
  volumes: readonly ScoredVolume[],
  opts: { readonly stacks: readonly number[]; readonly perPair: number; readonly seed: number },
): Record<string, HeldOutCoverage | null> {
  // Undefined where the other volumes cannot be calibrated on (too few of their references ordered).
  const calibrations = new Map<string, LocalizationCalibration | undefined>();
  const calibrationFor = (r: number, s: number) => {
    const key = `${Math.min(r, s)}-${Math.max(r, s)}`;
    if (!calibrations.has(key)) {
      let c: LocalizationCalibration | undefined;
      try {
        c = calibrateLocalization(volumes.filter((_, i) => i !== r && i !== s), { seed: r * volumes.length + s });
      } catch (e) {
        if (!(e instanceof LocalizeError)) throw e;
      }
      calibrations.set(key, c);
    }
    return calibrations.get(key);
  };
  const maps = volumes.map((v) => {
    try {
      return fitScoreMap(v.positionsMm, v.scores);
    } catch {
      return undefined;
    }
  });
  const out: Record<string, HeldOutCoverage | null> = {};
  for (const n of opts.stacks) {
    const draw = drawer(opts.seed + n);
    const errors: number[] = [];
    const hits = { pairs: 0, c50: 0, c90: 0, r50: 0, r90: 0 };
    volumes.forEach((ref, r) => {
      const map: ScoreMap | undefined = maps[r];
      if (!map) return;
      volumes.forEach((src, s) => {
        if (r === s) return;
        const starts = startsWithin(src, ref, n);
        if (starts.length === 0) return;
        const cal = calibrationFor(r, s);
        if (!cal) return;
        hits.pairs += 1;
        for (let t = 0; t < opts.perPair; t++) {
          const k = starts[draw(starts.length)]!;
          const stack = src.scores.subarray(k, k + n);
          const truth = (src.positionsMm[k]! * src.scale) / ref.scale;
          const c = localizeStack(map, stack, src.spacingMm, cal);
          const u = localizeStack(map, stack, src.spacingMm);
          const e = Math.abs(c.startMm - truth);
          errors.push(e);
          hits.c50 += e <= c.within50Mm ? 1 : 0;
          hits.c90 += e <= c.within90Mm ? 1 : 0;
          hits.r50 += e <= u.within50Mm ? 1 : 0;
          hits.r90 += e <= u.within90Mm ? 1 : 0;
        }
      });
    });
    const m = errors.length;
    out[String(n)] =
      m === 0
        ? null
        : { stacks: m, pairs: hits.pairs, medianErrorMm: median(errors), calibrated50: hits.c50 / m, calibrated90: hits.c90 / m, referenceOnly50: hits.r50 / m, referenceOnly90: hits.r90 / m };
  }
  return out;
}
