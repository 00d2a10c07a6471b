/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `fn` `warmup` times unmeasured, then `repeats` times; returns the milliseconds of each measured run. */
export async function timeRuns(fn: () => unknown, repeats: number, warmup = 1): Promise<number[]> {
  for (let n = 0; n < warmup; n++) await fn();
  const out: number[] = [];
  for (let n = 0; n < repeats; n++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** Two-sided 97.5% quantiles of Student's t for 1…30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074,
  2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * The 0.975 quantile of Student's t with `df` degrees of freedom (the factor of a 95% interval):
 * tabulated to 30, then linear in 1/df between t(30) = 2.042 and the normal's 1.960 (error < 0.002).
 */
export function tQuantile975(df: number): number {
  if (!(df >= 1)) return Number.NaN;
  if (df <= 30) return T975[Math.round(df) - 1]!;
  return 1.96 + (2.042 - 1.96) * (30 / df);
}

/** Mean, sample sd, n and the 95% t interval of the mean (NaN bounds below 2 samples). */
export interface MeanInterval {
  readonly mean: number;
  readonly sd: number;
  readonly n: number;
  readonly ci95: readonly [number, number];
}

export function meanInterval(xs: readonly number[]): MeanInterval {
  const n = xs.length;
  const mean = xs.reduce((s, x) => s + x, 0) / Math.max(1, n);
  const sd = n > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : 0;
  const half = n > 1 ? (tQuantile975(n - 1) * sd) / Math.sqrt(n) : Number.NaN;
  return { mean, sd, n, ci95: [mean - half, mean + half] };
}

/**
 * The paired difference a − b (same units, same order): its mean with a 95% t interval, and
 * whether the interval excludes 0 (a difference the data support at the 5% level).
 */
export function pairedDifference(a: readonly number[], b: readonly number[]): MeanInterval & { readonly real: boolean } {
  if (a.length !== b.length) throw new RangeError(`paired samples differ in length: ${a.length} and ${b.length}`);
  const d = meanInterval(a.map((x, i) => x - b[i]!));
  return { ...d, real: d.ci95[0] > 0 || d.ci95[1] < 0 };
}
