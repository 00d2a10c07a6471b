import { describe, expect, it } from 'vitest';
import { applyWindow, zscore } from './window';

describe('applyWindow', () => {
  it('center 40 width 400 maps −160 → 0, 40 → 0.5, 240 → 1 and clamps beyond', () => {
    expect([...applyWindow(Int16Array.from([-1000, -160, 40, 240, 3000]), { center: 40, width: 400 })]).toEqual([
      0, 0, 0.5, 1, 1,
    ]);
  });
  it('rejects width 0', () => {
    expect(() => applyWindow([1], { center: 0, width: 0 })).toThrow(/width must be positive, got 0/);
  });
});

describe('zscore', () => {
  it('[1, 2, 3] → [−√1.5, 0, √1.5]', () => {
    const z = zscore([1, 2, 3]);
    expect(z[0]).toBeCloseTo(-Math.sqrt(1.5), 6);
    expect(z[1]).toBeCloseTo(0, 6);
    expect(z[2]).toBeCloseTo(Math.sqrt(1.5), 6);
  });
});
