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
