import { LocalizeError } from './errors';
import type { ScoreMap } from './scoreMap';
import { median } from './scoreMap';

export interface StackLocation {
  /** Position of the stack's first slice in the reference (mm). */
  readonly startMm: number;
  /** Position of the stack's middle (mm). */
  readonly centreMm: number;
  /** Uncertainty (mm): the map's spread over √n, or the stack's own spread if larger. */
  readonly sdMm: number;
  /** Some slice scored outside the reference's range. */
  readonly extrapolated: boolean;
}

/**
 * Places a single slice, a short stack or a partial scan (scores in slice order, `spacingMm`
 * apart, positions rising along the stack) in a reference: each slice votes for a start position
 * (its mapped position minus its offset in the stack) and the median vote wins, so a few badly
 * scored slices do not move it.
 */
export function localizeStack(map: ScoreMap, scores: ArrayLike<number>, spacingMm: number): StackLocation {
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
  const spread = n > 2 ? (1.4826 * median(votes.map((v) => Math.abs(v - startMm)))) / Math.sqrt(n) : 0;
  return { startMm, centreMm: startMm + ((n - 1) * spacingMm) / 2, sdMm: Math.max(map.sdMm / Math.sqrt(n), spread), extrapolated };
}
