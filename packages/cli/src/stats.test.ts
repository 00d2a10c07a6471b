import { fillGaussian, mulberry32 } from '@tomosort/random';
import { describe, expect, it } from 'vitest';
import { meanInterval, median, pairedDifference, tQuantile975 } from './stats';

describe('stats', () => {
  it('median of odd and even lists', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it.each([
    [1, 12.706],
    [4, 2.776],
    [30, 2.042],
    [60, 2.0],
    [120, 1.98],
  ])('t quantile 0.975 at df=%i is %f (tables)', (df, t) => {
    expect(tQuantile975(df)).toBeCloseTo(t, 2);
  });

  it('meanInterval of 1..5: mean 3, sd √2.5, half-width t(4)·sd/√5', () => {
    const r = meanInterval([1, 2, 3, 4, 5]);
    expect(r.mean).toBe(3);
    expect(r.sd).toBeCloseTo(Math.sqrt(2.5), 12);
    const half = (2.776 * Math.sqrt(2.5)) / Math.sqrt(5);
    expect(r.ci95[0]).toBeCloseTo(3 - half, 10);
    expect(r.ci95[1]).toBeCloseTo(3 + half, 10);
    expect(meanInterval([7]).ci95.every(Number.isNaN)).toBe(true);
  });

  it('pairedDifference: differences of pairs, real only when the interval excludes 0', () => {
    const up = pairedDifference([0.8, 0.7, 0.9, 0.75], [0.6, 0.55, 0.7, 0.6]);
    expect(up.mean).toBeCloseTo(0.175, 12);
    expect(up.real).toBe(true);
    const noise = pairedDifference([0.8, 0.6, 0.7], [0.7, 0.7, 0.7]);
    expect(noise.mean).toBeCloseTo(0, 12);
    expect(noise.real).toBe(false);
    expect(() => pairedDifference([1], [1, 2])).toThrow(/differ in length/);
  });

  it('the 95% interval of n = 5 normal samples covers the true mean 95% of the time (4000 draws)', () => {
    const rng = mulberry32(12345);
    const xs = new Float32Array(5);
    let covered = 0;
    const draws = 4000;
    for (let n = 0; n < draws; n++) {
      fillGaussian(rng, xs);
      const { ci95 } = meanInterval([...xs].map((x) => 10 + 2 * x));
      if (ci95[0] <= 10 && 10 <= ci95[1]) covered++;
    }
    // Binomial sd at p = 0.95: √(0.95·0.05/4000) ≈ 0.0034; allow 3 sd.
    expect(Math.abs(covered / draws - 0.95)).toBeLessThan(3 * Math.sqrt((0.95 * 0.05) / draws));
  });
});
