import type { LocalizationCalibration } from './calibration';
import { calibratedSdMm } from './calibration';
import { LocalizeError } from './errors';
import type { ScoreMap } from './scoreMap';
import { median } from './scoreMap';

/** Two-sided normal quantiles: P(|Z| ≤ z) = 0.5 and 0.9. */
const NORMAL_Z50 = 0.6744897501960817;
const NORMAL_Z90 = 1.6448536269514722;

export interface StackLocation {
  /** Position of the stack's first slice in the reference (mm). */
  readonly startMm: number;
  /** Position of the stack's middle (mm). */
  readonly centreMm: number;
  /**
   * Uncertainty of startMm (mm). 'calibrated': √(subjectSd² + sliceSd²/n) from a calibration
   * on held-out subjects; 'reference-only': the reference's own spread around its map (or the
   * stack's spread of votes, if larger), which knows nothing of another subject's offset.
   */
  readonly sdMm: number;
  /** Half-width (mm) of the interval around startMm meant to hold the truth 50 % of the time. */
  readonly within50Mm: number;
  /** Half-width (mm) of the interval around startMm meant to hold the truth 90 % of the time. */
  readonly within90Mm: number;
  /** Where sdMm and the intervals come from (see sdMm). */
  readonly uncertainty: 'calibrated' | 'reference-only';
  /** Some slice scored outside the reference's range. */
  readonly extrapolated: boolean;
}

/**
 * Places a single slice, a short stack or a partial scan (scores in slice order, `spacingMm`
 * apart, positions rising along the stack) in a reference: each slice votes for a start position
 * (its mapped position minus its offset in the stack) and the median vote wins, so a few badly
 * scored slices do not move it.
 *
 * With a `calibration` (measured on held-out subjects, e.g. the model manifest's) the intervals
 * are startMm ± z_L · √(subjectSd² + sliceSd²/n): a stack's slices share most of their error,
 * so it does not shrink as 1/√n. Without one they are normal intervals of the reference's own
 * spread, which hold only for stacks of the reference's own subject.
 */
export function localizeStack(map: ScoreMap, scores: ArrayLike<number>, spacingMm: number, calibration?: LocalizationCalibration): StackLocation {
  const n = scores.length;
  if (n < 1) throw new LocalizeError('nothing to localize: the stack has no slices');
  if (n > 1 && !(spacingMm > 0)) throw new LocalizeError(`slice spacing must be positive, got ${spacingMm}`);
  let extrapolated = false;
  const votes = Array.from({ length: n }, (_, i) => {
    const p = map.position(scores[i]!);
    extrapolated ||= p.extrapolated;
    return p.mm - i * spacingMm;
  });
  const startMm = median(votes);
  const centreMm = startMm + ((n - 1) * spacingMm) / 2;
  if (calibration) {
    const sdMm = calibratedSdMm(calibration, n);
    return { startMm, centreMm, sdMm, within50Mm: calibration.z50 * sdMm, within90Mm: calibration.z90 * sdMm, uncertainty: 'calibrated', extrapolated };
  }
  const spread = n > 2 ? 1.4826 * median(votes.map((v) => Math.abs(v - startMm))) : 0;
  const sdMm = Math.max(map.sdMm, spread);
  return { startMm, centreMm, sdMm, within50Mm: NORMAL_Z50 * sdMm, within90Mm: NORMAL_Z90 * sdMm, uncertainty: 'reference-only', extrapolated };
}
