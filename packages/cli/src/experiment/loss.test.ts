import { describe, expect, it } from 'vitest';
import { lateLossChange } from './report';
import { binLosses } from './run';

describe('pre-training loss curve', () => {
  it('binLosses: means of consecutive steps, each bin at its last step', () => {
    expect(binLosses([1, 2, 3, 4, 5], 2)).toEqual([
      { step: 3, loss: 2 },
      { step: 5, loss: 4.5 },
    ]);
    expect(binLosses([], 10)).toEqual([]);
  });

  it('lateLossChange: ≈ 0 once an exponential decay has flattened; −10% for a line falling by its start value over the run', () => {
    const decay = Array.from({ length: 100 }, (_, n) => ({ loss: 1 + 4 * Math.exp(-n / 8) }));
    expect(Math.abs(lateLossChange(decay))).toBeLessThan(1e-3);
    // A line from 1 to 0: the last tenth's mean sits 0.1 below the one before, the first tenth's mean is 0.955.
    const line = Array.from({ length: 100 }, (_, n) => ({ loss: 1 - n / 100 }));
    expect(lateLossChange(line)).toBeCloseTo(-0.1 / 0.955, 6);
    expect(lateLossChange([{ loss: 1 }])).toBeNaN();
  });
});
