import { spearman } from '@tomosort/losses';
import { LocalizeError } from './errors';

/** Smallest |ρ| between score and position for a reference to count as ordered. */
export const MIN_REFERENCE_RHO = 0.5;

/** A monotone map from slice score to position (mm) in a reference volume. */
export interface ScoreMap {
  /** +1 when scores rise with position, −1 when they fall. */
  readonly direction: 1 | -1;
  /** Spearman ρ of the reference. */
  readonly rho: number;
  /** Robust spread of the reference's positions around the map (1.4826 · MAD), mm. */
  readonly sdMm: number;
  /** Position of one score; outside the reference's scores the end knots' slope continues. */
  position(score: number): { readonly mm: number; readonly extrapolated: boolean };
}

/**
 * Pool-adjacent-violators: the non-decreasing sequence closest to `y` in least squares
 * (e.g. [1, 3, 2, 4] → [1, 2.5, 2.5, 4]).
 */
export function isotonic(y: readonly number[]): number[] {
  const means: number[] = [];
  const counts: number[] = [];
  for (const v of y) {
    means.push(v);
    counts.push(1);
    while (means.length > 1 && means[means.length - 2]! > means[means.length - 1]!) {
      const c = counts.pop()!;
      const m = means.pop()!;
      const c0 = counts[counts.length - 1]!;
      means[means.length - 1] = (means[means.length - 1]! * c0 + m * c) / (c0 + c);
      counts[counts.length - 1] = c0 + c;
    }
  }
  return means.flatMap((m, n) => Array<number>(counts[n]!).fill(m));
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Fits the score → position map of a reference volume: the direction from the sign of ρ, then
 * isotonic regression of position on score (sorted by score) and linear interpolation between
 * the fitted knots (means of equal fitted values), extended beyond the ends with the slope of
 * the outer knots. Refuses a reference whose scores do not order its slices (|ρ| < 0.5).
 */
export function fitScoreMap(positionsMm: ArrayLike<number>, scores: ArrayLike<number>): ScoreMap {
  const n = scores.length;
  if (n !== positionsMm.length) throw new LocalizeError(`${n} scores for ${positionsMm.length} positions`);
  if (n < 3) throw new LocalizeError(`a reference needs at least 3 slices, got ${n}`);
  const rho = spearman(scores, positionsMm);
  if (!(Math.abs(rho) >= MIN_REFERENCE_RHO)) {
    throw new LocalizeError(`the model's scores do not order the reference's slices (Spearman ρ = ${rho.toFixed(2)}, need |ρ| ≥ ${MIN_REFERENCE_RHO})`);
  }
  const direction: 1 | -1 = rho >= 0 ? 1 : -1;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const fitted = isotonic(order.map((i) => direction * positionsMm[i]!)).map((v) => direction * v);
  // Knots: one per block of equal fitted values, at the block's mean score.
  const knots: { s: number; mm: number }[] = [];
  for (let a = 0; a < n; ) {
    let b = a;
    while (b + 1 < n && fitted[b + 1] === fitted[a]) b++;
    let s = 0;
    for (let i = a; i <= b; i++) s += scores[order[i]!]!;
    knots.push({ s: s / (b - a + 1), mm: fitted[a]! });
    a = b + 1;
  }
  const at = (score: number): { mm: number; extrapolated: boolean } => {
    if (knots.length === 1) return { mm: knots[0]!.mm, extrapolated: score !== knots[0]!.s };
    const first = knots[0]!;
    const last = knots[knots.length - 1]!;
    const lerp = (p: { s: number; mm: number }, q: { s: number; mm: number }) => p.mm + ((score - p.s) * (q.mm - p.mm)) / (q.s - p.s);
    if (score <= first.s) return { mm: lerp(first, knots[1]!), extrapolated: score < first.s };
    if (score >= last.s) return { mm: lerp(knots[knots.length - 2]!, last), extrapolated: score > last.s };
    let lo = 0;
    let hi = knots.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (knots[mid]!.s <= score) lo = mid;
      else hi = mid;
    }
    return { mm: lerp(knots[lo]!, knots[hi]!), extrapolated: false };
  };
  const residuals = Array.from({ length: n }, (_, i) => positionsMm[i]! - at(scores[i]!).mm);
  const sdMm = 1.4826 * median(residuals.map((r) => Math.abs(r - median(residuals))));
  return { direction, rho, sdMm, position: at };
}

export { median };
