/** Learning-rate schedule. */
export type Schedule =
  /** The base rate throughout. */
  | { readonly kind: 'constant' }
  /** Linear warm-up from 0 over `warmupSteps`, then cosine decay to `minFactor × lr` at the last step (Loshchilov & Hutter 2017). */
  | { readonly kind: 'cosine'; readonly warmupSteps: number; readonly minFactor?: number };

/**
 * Learning rate at `step` (0-based) of `totalSteps`:
 * warm-up: lr · (step + 1) / warmup; then lr · (m + (1 − m) · ½(1 + cos(π · t))),
 * t = (step − warmup) / max(1, total − warmup − 1).
 */
export function learningRate(base: number, schedule: Schedule, step: number, totalSteps: number): number {
  if (schedule.kind === 'constant') return base;
  const warm = Math.max(0, schedule.warmupSteps);
  if (step < warm) return (base * (step + 1)) / warm;
  const m = schedule.minFactor ?? 0;
  const t = Math.min(1, (step - warm) / Math.max(1, totalSteps - warm - 1));
  return base * (m + (1 - m) * 0.5 * (1 + Math.cos(Math.PI * t)));
}
