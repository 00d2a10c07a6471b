import { describe, expect, it } from 'vitest';
import { applyWindow, describeIntensity, intensityMap, percentiles, zscore } from './window';
import type { HuWindow } from './window';

/** `data` through its intensity map (what toModelGrid applies). */
const toWindowUnits = (data: Float32Array, modality: string, w: HuWindow): Float32Array => {
  const { a, b } = intensityMap(data, modality, w);
  return data.map((x) => a * x + b);
};

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

describe('intensity by modality (percentiles of non-CT volumes onto the window)', () => {
  const ramp = Float32Array.from({ length: 1001 }, (_, n) => n); // 0..1000

  it('percentiles interpolate between order statistics', () => {
    expect(percentiles(ramp, [0, 50, 100, 0.5, 99.5])).toEqual([0, 500, 1000, 5, 995]);
  });

  it('CT values pass unchanged; MR maps its 0.5–99.5 percentiles onto the window ends', () => {
    const w = { center: 40, width: 400 };
    expect(intensityMap(ramp, 'CT', w)).toEqual({ a: 1, b: 0 });
    const m = toWindowUnits(ramp, 'MR', w);
    expect(m[5]).toBeCloseTo(-160, 4);
    expect(m[995]).toBeCloseTo(240, 4);
    expect(m[500]).toBeCloseTo(40, 4);
    // The same anatomy at another MR gain maps to the same window units.
    const brighter = toWindowUnits(ramp.map((x) => 3 * x + 50), 'MR', w);
    for (const n of [0, 5, 250, 995, 1000]) expect(brighter[n]).toBeCloseTo(m[n]!, 3);
  });

  it('a constant MR volume maps to the window low end, and bad percentiles are refused', () => {
    expect([...toWindowUnits(new Float32Array(10).fill(7), 'MR', { center: 0, width: 2 })]).toEqual(new Array(10).fill(-1));
    expect(() => percentiles(ramp, [101])).toThrow(/percentile must be in 0..100/);
  });
});

describe('describeIntensity (what the CLI and the viewer say of a volume’s intensities)', () => {
  const ramp = Float32Array.from({ length: 101 }, (_, i) => 10 * i);
  it('CT goes through the window in HU; OT in its maker\'s units', () => {
    expect(describeIntensity({ data: ramp, modality: 'CT' }, { center: 40, width: 400 })).toBe("CT values go through the model's window 40/400 as they are (HU)");
    expect(describeIntensity({ data: ramp, modality: 'OT' }, { center: 40, width: 400 })).toBe("OT values go through the model's window 40/400 as they are (their maker's units)");
  });
  it('MR by its percentiles, with their values on this volume', () => {
    expect(describeIntensity({ data: ramp, modality: 'MR' }, { center: 40, width: 400 }, { kind: 'modality', percentiles: [10, 90] })).toBe(
      "MR has no absolute unit: its 10–90 percentiles (100–900 on this series) are mapped onto the model's window 40/400, not taken as HU",
    );
  });
});
