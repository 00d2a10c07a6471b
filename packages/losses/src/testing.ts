// Test helpers (not exported from index.ts): seeded data and a finite-difference gradient check.
import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';

/** Deterministic N(0, 1) samples (mulberry32 + Box–Muller). */
export function seededNormal(count: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

export interface GradCheckOptions {
  /** Central-difference step. */
  readonly h: number;
  /** Allowed |numeric − analytic| per element = atol + rtol·|analytic|. */
  readonly rtol: number;
  readonly atol: number;
}

export interface GradCheckResult {
  readonly analytic: Float32Array;
  readonly numeric: Float32Array;
  /** Largest |numeric − analytic| / (atol + rtol·|analytic|); the check passes when ≤ 1. */
  readonly worst: number;
  /** Largest |analytic| (a check of an all-zero gradient proves nothing). */
  readonly maxAbs: number;
}

/**
 * Compares tf.grad(f)(x) with central differences (f(x + h·e_k) − f(x − h·e_k)) / (2h), one
 * element at a time, in float32. The step actually taken is fround(x_k ± h) − x_k, so the rounding
 * of x_k + h to float32 does not bias the quotient.
 */
export function gradCheck(f: (x: Tensor) => Scalar, x: Tensor, { h, rtol, atol }: GradCheckOptions): GradCheckResult {
  const g = tf.grad(f)(x);
  const analytic = g.dataSync() as Float32Array;
  g.dispose();
  const base = x.dataSync();
  const numeric = new Float32Array(base.length);
  const at = (v: Float32Array): number =>
    tf.tidy(() => f(tf.tensor(v, x.shape, 'float32')).dataSync()[0]!);
  for (let k = 0; k < base.length; k++) {
    const v = Float32Array.from(base);
    const xk = base[k]!;
    const hi = Math.fround(xk + h);
    const lo = Math.fround(xk - h);
    v[k] = hi;
    const fHi = at(v);
    v[k] = lo;
    const fLo = at(v);
    numeric[k] = (fHi - fLo) / (hi - lo);
  }
  let worst = 0;
  let maxAbs = 0;
  for (let k = 0; k < base.length; k++) {
    const a = analytic[k]!;
    worst = Math.max(worst, Math.abs(numeric[k]! - a) / (atol + rtol * Math.abs(a)));
    maxAbs = Math.max(maxAbs, Math.abs(a));
  }
  return { analytic, numeric, worst, maxAbs };
}

/**
 * Central-difference step for every loss test. In float32 (unit roundoff u = 2⁻²⁴ ≈ 6e-8) the
 * quotient carries a rounding error of about c·u·|L|/h (c ≈ 10 for the reductions inside a loss)
 * and a truncation error h²·|L'''|/6. For these losses (|L| ≲ 5, inputs of size ~1) the sum is
 * smallest near h = 1e-2: scripts/gradprobe.run.ts measured max |numeric − analytic| of
 * 3e-6 … 1e-4 there, against 3e-5 … 3e-4 at h = 1e-3 (rounding) and 1e-5 … 1e-2 at h = 0.1
 * (truncation). Each test sets atol about 10× above the error measured for its loss and
 * rtol = 1e-3, so that a gradient 1% off in its largest component fails.
 */
export const GRAD_STEP = 1e-2;
