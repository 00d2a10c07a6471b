import { describe, expect, it } from 'vitest';
import { learningRate } from './schedule';

describe('learningRate', () => {
  const cos = { kind: 'cosine', warmupSteps: 4 } as const;
  it('warms up linearly: steps 0..3 of lr 1 give 0.25, 0.5, 0.75, 1', () => {
    expect([0, 1, 2, 3].map((s) => learningRate(1, cos, s, 14))).toEqual([0.25, 0.5, 0.75, 1]);
  });
  it('then decays by cosine: step 4 = 1, the middle (9 of 14) = 0.5, the last (13) = 0', () => {
    expect(learningRate(1, cos, 4, 14)).toBeCloseTo(1, 12);
    expect(learningRate(1, cos, 8.5, 14)).toBeCloseTo(0.5, 12);
    expect(learningRate(1, cos, 13, 14)).toBeCloseTo(0, 12);
  });
  it('minFactor 0.1 floors the decay at 0.1·lr', () => {
    expect(learningRate(2, { ...cos, minFactor: 0.1 }, 13, 14)).toBeCloseTo(0.2, 12);
  });
  it('constant stays at the base rate', () => {
    expect(learningRate(0.3, { kind: 'constant' }, 99, 100)).toBe(0.3);
  });
});
