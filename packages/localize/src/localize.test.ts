import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@tomosort/random';
import { fitScoreMap, isotonic, localizeStack } from './index';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('isotonic (pool-adjacent-violators)', () => {
  it('pools violators into their mean', () => {
    expect(isotonic([1, 3, 2, 4])).toEqual([1, 2.5, 2.5, 4]);
    expect(isotonic([3, 2, 1])).toEqual([2, 2, 2]);
    expect(isotonic([1, 2, 3])).toEqual([1, 2, 3]);
  });
});

describe('fitScoreMap', () => {
  const positions = range(60).map((k) => 300 + 2.5 * k);
  it('inverts a noiseless monotone nonlinear score exactly at the reference slices, either direction', () => {
    for (const sign of [1, -1]) {
      const scores = positions.map((z) => sign * Math.tanh((z - 370) / 40));
      const map = fitScoreMap(positions, scores);
      expect(map.direction).toBe(sign);
      positions.forEach((z, k) => expect(map.position(scores[k]!).mm).toBeCloseTo(z, 6));
      expect(map.position(scores[10]! * 0.5 + scores[11]! * 0.5).extrapolated).toBe(false);
      expect(map.position(sign * 5).extrapolated).toBe(true);
    }
  });

  it('refuses a reference whose scores do not order it', () => {
    const rng = mulberry32(3);
    expect(() => fitScoreMap(positions, positions.map(() => rng()))).toThrow(/scores do not order the reference's slices \(Spearman ρ = -?0\.\d\d, need \|ρ\| ≥ 0.5\)/);
    expect(() => fitScoreMap([1, 2], [1, 2])).toThrow('a reference needs at least 3 slices, got 2');
  });
});

describe('localizeStack', () => {
  // Reference and query share score(z) = z / 10 + noise (sd 0.5 score units = 5 mm).
  const rng = mulberry32(7);
  const noisy = (z: number) => z / 10 + 0.5 * Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng());
  const refPositions = range(200).map((k) => 2 * k);
  const map = fitScoreMap(refPositions, refPositions.map(noisy));

  it('errors shrink with stack size', () => {
    const medianError = (n: number) => {
      const errors = range(200).map(() => {
        const start = 20 + rng() * 300;
        return Math.abs(localizeStack(map, range(n).map((i) => noisy(start + 3 * i)), 3).startMm - start);
      });
      return errors.sort((a, b) => a - b)[100]!;
    };
    const [e1, e3, e10] = [medianError(1), medianError(3), medianError(10)];
    expect(e1).toBeLessThan(8);
    expect(e10).toBeLessThan(e3);
    expect(e3).toBeLessThan(e1);
  });

  it('with a calibration: sd = √(subjectSd² + sliceSd²/n), intervals z50 · sd and z90 · sd', () => {
    const calibration = { subjectSdMm: 30, sliceSdMm: 40, z50: 0.7, z90: 1.8, stacks: 100, volumes: 8 };
    const loc = localizeStack(map, [10, 10.3, 10.6, 10.9], 3, calibration);
    expect(loc).toMatchObject({ sdMm: Math.sqrt(900 + 1600 / 4), uncertainty: 'calibrated' });
    expect(loc.within50Mm).toBeCloseTo(0.7 * Math.sqrt(1300), 9);
    expect(loc.within90Mm).toBeCloseTo(1.8 * Math.sqrt(1300), 9);
  });

  it('centre = start + half the stack', () => {
    const loc = localizeStack(map, [10, 10.3, 10.6], 3);
    expect(loc.centreMm).toBeCloseTo(loc.startMm + 3, 9);
    expect(() => localizeStack(map, [], 3)).toThrow('nothing to localize');
  });
});
