import { spearman } from '@tomosort/losses';
import { median } from './scoreMap';

/** ρ below −this: the series runs against the order its positions claim. */
export const REVERSED_RHO = 0.8;
/** A neighbour step this many robust spreads against the trend marks a slice out of place. */
export const SHUFFLE_Z = 4;
/** A score step this many times the median step marks a gap (missing slices). */
export const GAP_FACTOR = 3;
/** Below this |ρ| the scores are too noisy to judge the order (no finding but 'inconclusive'). */
export const ORDER_MIN_RHO = 0.8;

export type OrderFinding =
  | { readonly kind: 'reversed'; readonly rho: number }
  | { readonly kind: 'shuffled'; readonly slices: readonly number[] }
  | { readonly kind: 'missing'; readonly after: number; readonly estimated: number }
  | { readonly kind: 'inconclusive'; readonly rho: number };

/**
 * Checks a series' slice order against the model's scores (slices in the series' order):
 * reversed when ρ < −0.8; shuffled slices where a neighbour step goes against the trend by more
 * than 4 robust spreads of the steps; missing slices where a step exceeds 3× the median step
 * (estimated count = step / median step − 1). Between ρ = −0.8 and 0.8 the scores are too
 * noisy to judge: one 'inconclusive' finding. An empty list means nothing looks wrong.
 */
export function checkSliceOrder(positionsMm: ArrayLike<number>, scores: ArrayLike<number>): OrderFinding[] {
  const n = scores.length;
  if (n < 4) return [];
  const rho = spearman(scores, positionsMm);
  if (rho < -REVERSED_RHO) return [{ kind: 'reversed', rho }];
  // A model that barely orders this series would flag every noisy step: say so instead.
  if (!(rho >= ORDER_MIN_RHO)) return [{ kind: 'inconclusive', rho }];
  const sign = rho >= 0 ? 1 : -1;
  const steps = Array.from({ length: n - 1 }, (_, i) => sign * (scores[i + 1]! - scores[i]!));
  const med = median(steps);
  const spread = 1.4826 * median(steps.map((s) => Math.abs(s - med))) || Math.abs(med) || 1e-9;
  const findings: OrderFinding[] = [];
  const out = new Set<number>();
  steps.forEach((s, i) => {
    if (s < -SHUFFLE_Z * spread && s < 0) {
      out.add(i);
      out.add(i + 1);
    }
  });
  if (out.size > 0) findings.push({ kind: 'shuffled', slices: [...out].sort((a, b) => a - b) });
  if (med > 0) {
    steps.forEach((s, i) => {
      if (s > GAP_FACTOR * med && s > med + SHUFFLE_Z * spread && !out.has(i)) findings.push({ kind: 'missing', after: i, estimated: Math.round(s / med) - 1 });
    });
  }
  return findings;
}
