import { spearman } from '@tomosort/losses';
import { LocalizeError } from './errors';
import { median } from './scoreMap';

/** Family-wise false-alarm rate of the whole check on one intact series (split equally over its three tests). */
export const ORDER_ALPHA = 0.01;
/** ρ at or below −this (and significantly below 0) is a reversed series. */
export const REVERSED_RHO = 0.5;
/** A model whose expected ρ on intact volumes is below this cannot tell shuffled from intact. */
export const RELIABLE_RHO = 0.5;
/**
 * Spread of one intact volume's Fisher z = atanh ρ around the model's expected value beyond the
 * sampling error (volumes differ in anatomy and length), added in quadrature to it. Measured on
 * the 16 held-out phantoms of the test fixture (3000-step model): sd of atanh ρ 0.44, of which
 * sampling √(1.06/(n−3)) ≈ 0.11, leaving 0.42; rounded up.
 */
export const RHO_SPREAD = 0.45;
/** Steps on each side whose median gives the typical step for a gap's missing-slice count. */
const GAP_WINDOW = 5;
/** Fewest non-blank slices the check judges. */
export const ORDER_MIN_SLICES = 6;

export type OrderFinding =
  /** The slices run against the order their positions claim. */
  | { readonly kind: 'reversed'; readonly rho: number }
  /** The series' order as a whole is lost: ρ far below what the model gives intact volumes. */
  | { readonly kind: 'shuffled'; readonly extent: 'series'; readonly rho: number; readonly expectedRho: number }
  /** These slices (indices in the series) sit out of place: score steps against the trend. */
  | { readonly kind: 'shuffled'; readonly extent: 'slices'; readonly slices: readonly number[] }
  /** About `estimated` slices missing between slice `after` and the next judged slice. */
  | { readonly kind: 'missing'; readonly after: number; readonly estimated: number; readonly z: number }
  /** The check cannot tell: too few slices, or a model not known to order intact volumes. */
  | { readonly kind: 'inconclusive'; readonly rho: number; readonly expectedRho: number | null; readonly reason: 'few-slices' | 'unreliable-model' | 'unordered' };

export interface OrderCheckOptions {
  /** Per slice, truthy where the slice is blank (`scoreVolume`'s `blank`): left out of every test. */
  readonly blank?: ArrayLike<number | boolean>;
  /**
   * The model's Spearman ρ on intact volumes of this kind (a pre-trained model's manifest holds it
   * as `metrics.heldOutSpearman`). Without it a series whose scores do not follow its positions is
   * 'inconclusive', never 'shuffled': an unordered series and a model that cannot order it look alike.
   */
  readonly expectedRho?: number;
  /** Family-wise false-alarm rate on an intact series (default {@link ORDER_ALPHA}). */
  readonly alpha?: number;
}

export interface OrderCheck {
  /** Empty when nothing looks wrong. */
  readonly findings: OrderFinding[];
  /** Spearman ρ of score vs position over the judged (non-blank) slices. */
  readonly rho: number;
  /** Slices judged. */
  readonly judged: number;
  /** Indices of the blank slices left out. */
  readonly excluded: readonly number[];
}

/**
 * Standard normal quantile Φ⁻¹(p) (Acklam's rational approximation, relative error < 1.2e-9).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new LocalizeError(`a normal quantile needs 0 < p < 1, got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * Student-t quantile with ν degrees of freedom from the normal one (Cornish–Fisher expansion,
 * Abramowitz & Stegun 26.7.5; within 0.5 % of the exact value for ν ≥ 10 and p ≤ 1 − 1e-6).
 */
export function studentQuantile(p: number, nu: number): number {
  const z = normalQuantile(p);
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  return z + (z3 + z) / (4 * nu) + (5 * z5 + 16 * z3 + 3 * z) / (96 * nu ** 2) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * nu ** 3);
}

/** Relative efficiency of the MAD as a scale estimate of Gaussian data (its effective degrees of freedom per value). */
const MAD_EFFICIENCY = 0.37;

/**
 * Checks a series' slice order against a score model's per-slice scores (slices in the series'
 * order, positions rising; the model's scores rise with position). Blank slices are left out.
 * With n judged slices, ρ = Spearman(score, position), α the family-wise rate split over three
 * tests (α/3 each) and z(p) = Φ⁻¹(1 − p):
 *
 * 1. n < 6: 'inconclusive' (few-slices).
 * 2. 'reversed' when ρ ≤ −0.5 and significantly below 0: t = ρ·√((n−2)/(1−ρ²)) < −t_{n−2}(α/3).
 * 3. With the model's expected ρ₀ ≥ 0.5 on intact volumes: 'shuffled' (series) when
 *    [atanh ρ₀ − atanh ρ] / √(1.06/(n−3) + 0.45²) > z(α/3) (Fisher z, Spearman variance of
 *    Fieller et al. 1957, plus a between-volume allowance). With ρ₀ < 0.5: 'inconclusive'
 *    (unreliable-model). Otherwise, when t < t_{n−2}(α/3) (the order is not demonstrated, with
 *    or without ρ₀): 'inconclusive' (unordered).
 * 4. Otherwise the local tests, on the score steps dₖ = (sₖ₊₁ − sₖ)·Δ/(pₖ₊₁ − pₖ) (Δ the median
 *    position step, so a left-out slice does not look like a gap), robust z = (dₖ − med d)/σ,
 *    σ = 1.4826·MAD(d), threshold t = t_ν(α/3 / (n−1)) (Bonferroni over the steps; Student-t
 *    with ν = 0.37·(n−1), the MAD's effective degrees of freedom):
 *    - an inverted step (dₖ < 0, z < −t) marks a slice out of place: k when the step into k
 *      exceeds the step out of k+1 by more than 2σ√2 (k's score too high), k+1 in the mirror case,
 *      both otherwise (an adjacent swap); 'shuffled' (slices) names them;
 *    - a step with z > t and dₖ ≥ 1.5·med d, not next to an inverted step (that gap belongs to a
 *      misplaced slice), is 'missing' with max(1, round(dₖ / max(d̃, med d / 2)) − 1) slices, d̃
 *      the median of the 5 steps on each side (the slope varies along the body).
 *
 * On Gaussian score noise each test's false-alarm rate on an intact series is at most α/3.
 * Power: a slice displaced by m positions gives a step with z ≈ −m·a/σ, g missing slices
 * z ≈ g·a/σ, where a = med d is the model's score per slice.
 */
export function checkSliceOrder(positionsMm: ArrayLike<number>, scores: ArrayLike<number>, options: OrderCheckOptions = {}): OrderCheck {
  const total = scores.length;
  if (positionsMm.length !== total) throw new LocalizeError(`${total} scores for ${positionsMm.length} positions`);
  const blank = options.blank;
  if (blank && blank.length !== total) throw new LocalizeError(`${blank.length} blank flags for ${total} slices`);
  const alpha = options.alpha ?? ORDER_ALPHA;
  if (!(alpha > 0 && alpha < 1)) throw new LocalizeError(`alpha must lie in (0, 1), got ${alpha}`);
  const expected = options.expectedRho;
  if (expected !== undefined && !(expected >= -1 && expected <= 1)) throw new LocalizeError(`expected ρ must lie in [−1, 1], got ${expected}`);

  const keep: number[] = [];
  const excluded: number[] = [];
  for (let k = 0; k < total; k++) (blank?.[k] ? excluded : keep).push(k);
  const n = keep.length;
  const s = keep.map((k) => scores[k]!);
  const p = keep.map((k) => positionsMm[k]!);
  const rho = n >= 2 ? spearman(s, p) : Number.NaN;
  const result = (findings: OrderFinding[]): OrderCheck => ({ findings, rho, judged: n, excluded });
  const expectedRho = expected ?? null;
  if (n < ORDER_MIN_SLICES) return result([{ kind: 'inconclusive', rho, expectedRho, reason: 'few-slices' }]);

  const z = normalQuantile(1 - alpha / 3);
  // Significance of ρ against a random order: t = ρ·√((n−2)/(1−ρ²)), Student-t with n − 2 degrees of freedom.
  const tOrder = rho * Math.sqrt((n - 2) / Math.max(1e-12, 1 - rho * rho));
  const tCrit = studentQuantile(1 - alpha / 3, n - 2);
  if (rho <= -REVERSED_RHO && tOrder < -tCrit) return result([{ kind: 'reversed', rho }]);
  if (expected !== undefined) {
    if (expected < RELIABLE_RHO) return result([{ kind: 'inconclusive', rho, expectedRho, reason: 'unreliable-model' }]);
    const clamp = (r: number) => Math.atanh(Math.max(-0.995, Math.min(0.995, r)));
    const zShuffled = (clamp(expected) - clamp(rho)) / Math.sqrt(1.06 / (n - 3) + RHO_SPREAD ** 2);
    if (zShuffled > z) return result([{ kind: 'shuffled', extent: 'series', rho, expectedRho: expected }]);
  }
  // Neither far below the model's ρ nor demonstrably ordered: shuffled or not, the scores cannot say.
  if (!(tOrder >= tCrit)) return result([{ kind: 'inconclusive', rho, expectedRho, reason: 'unordered' }]);

  // Local tests on the score steps.
  const dp = p.slice(1).map((v, i) => v - p[i]!);
  const delta = median(dp);
  const d = dp.map((g, i) => ((s[i + 1]! - s[i]!) * delta) / g);
  const med = median(d);
  const sigma = 1.4826 * median(d.map((x) => Math.abs(x - med))) || Math.abs(med) * 1e-6 || 1e-12;
  // The spread is itself estimated (the MAD of n − 1 steps): a Student-t threshold with the MAD's
  // effective degrees of freedom keeps the rate at α/3 where a normal one would exceed it.
  const t = studentQuantile(1 - alpha / 3 / (n - 1), Math.max(4, MAD_EFFICIENCY * (n - 1)));
  const zd = d.map((x) => (x - med) / sigma);
  const inverted = d.map((x, i) => x < 0 && zd[i]! < -t);
  const out = new Set<number>();
  inverted.forEach((inv, i) => {
    if (!inv) return;
    const into = d[i - 1] ?? med;
    const from = d[i + 1] ?? med;
    const margin = 2 * Math.SQRT2 * sigma;
    if (into - from > margin) out.add(keep[i]!);
    else if (from - into > margin) out.add(keep[i + 1]!);
    else {
      out.add(keep[i]!);
      out.add(keep[i + 1]!);
    }
  });
  const findings: OrderFinding[] = [];
  if (out.size > 0) findings.push({ kind: 'shuffled', extent: 'slices', slices: [...out].sort((a, b) => a - b) });
  if (med > 0) {
    d.forEach((x, i) => {
      if (zd[i]! > t && x >= 1.5 * med && !inverted[i - 1] && !inverted[i + 1]) {
        // The count from the typical step nearby (the score's slope varies along the body).
        const near = median([...d.slice(Math.max(0, i - GAP_WINDOW), i), ...d.slice(i + 1, i + 1 + GAP_WINDOW)]);
        findings.push({ kind: 'missing', after: keep[i]!, estimated: Math.max(1, Math.round(x / Math.max(near, med / 2)) - 1), z: zd[i]! });
      }
    });
  }
  return result(findings);
}
