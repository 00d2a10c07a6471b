import { describe, expect, it } from 'vitest';
import { axisWeights, resample, resampleTo } from './resample';
import { voxelCoord } from './types';
import { createVolume, voxelToPatient } from './volume';

describe('axisWeights', () => {
  it('upsampling 2 → 4 (same field of view) gives weights 1, .75/.25, .25/.75, 1', () => {
    const w = axisWeights(2, 4, 0.5, (o) => (o + 0.5) * 0.5 - 0.5);
    const rows = [...Array(4).keys()].map((o) => {
      const r: Record<number, number> = {};
      for (let e = w.offset[o]!; e < w.offset[o + 1]!; e++) r[w.index[e]!] = w.weight[e]!;
      return r;
    });
    expect(rows).toEqual([{ 0: 1 }, { 0: 0.75, 1: 0.25 }, { 0: 0.25, 1: 0.75 }, { 1: 1 }]);
  });
  it('downsampling 4 → 2 by a tent of half-width 2 reads every input (anti-aliased)', () => {
    const w = axisWeights(4, 2, 2, (o) => 2 * o + 0.5);
    const used = new Set(w.index);
    expect([...used].sort()).toEqual([0, 1, 2, 3]);
    for (let o = 0; o < 2; o++) {
      let s = 0;
      for (let e = w.offset[o]!; e < w.offset[o + 1]!; e++) s += w.weight[e]!;
      expect(s).toBeCloseTo(1, 6);
    }
  });
});

describe('resample', () => {
  it('a linear ramp along k stays linear at a new slice spacing (1.5 mm → 3 mm: every other slice)', () => {
    const nz = 9;
    const data = new Float32Array(2 * 2 * nz);
    for (let k = 0; k < nz; k++) data.fill(10 * k, 4 * k, 4 * k + 4);
    const v = createVolume({ data, dims: [2, 2, nz], spacing: [1, 1, 1.5] });
    const r = resampleTo(v, { sliceSpacingMm: 3 });
    expect(r.dims).toEqual([2, 2, 5]);
    expect(r.spacing[2]).toBe(3);
    // Interior slices average k-1, k, k+1 with tent weights: the ramp is unchanged there.
    expect(r.data[4 * 1]).toBeCloseTo(20, 4);
    expect(r.data[4 * 2]).toBeCloseTo(40, 4);
    expect(r.origin).toEqual(v.origin);
  });

  it('in-plane 4×4 → 2×2 keeps the field of view and moves the origin to the new first centre', () => {
    const v = createVolume({
      data: new Int16Array(16).fill(7),
      dims: [4, 4, 1],
      spacing: [1, 1, 2],
      origin: [0, 0, 0],
    });
    const r = resample(v, [{ kind: 'size', size: 2 }, { kind: 'size', size: 2 }, { kind: 'keep' }]);
    expect(r.dims).toEqual([2, 2, 1]);
    expect(r.spacing).toEqual([2, 2, 2]);
    expect([...r.data]).toEqual([7, 7, 7, 7]);
    // Old corners at −0.5 and 3.5 mm; new centres at 0.5 and 2.5 mm.
    expect(voxelToPatient(r, voxelCoord(0, 0, 0))).toEqual([0.5, 0.5, 0]);
    expect(voxelToPatient(r, voxelCoord(1, 1, 0))).toEqual([2.5, 2.5, 0]);
  });

  it('rejects a size of 0', () => {
    const v = createVolume({ data: new Int16Array(8), dims: [2, 2, 2], spacing: [1, 1, 1] });
    expect(() => resampleTo(v, { width: 0 })).toThrow(/positive integer, got 0/);
  });
});

describe("resample to a fixed physical grid ('grid': size samples every mm, centred)", () => {
  // One row of 4 voxels, 2 mm apart, values 10, 20, 30, 40 (centre between voxels 1 and 2).
  const row = () => createVolume({ data: Float32Array.from([10, 20, 30, 40]), dims: [4, 1, 1], spacing: [2, 1, 1], origin: [100, 0, 0] as never });

  it('pads: 8 samples every 2 mm keep the 4 voxels in the middle and fill the rest', () => {
    const r = resample(row(), [{ kind: 'grid', size: 8, mm: 2 }, { kind: 'keep' }, { kind: 'keep' }], -1000);
    expect([...r.data]).toEqual([-1000, -1000, 10, 20, 30, 40, -1000, -1000]);
    expect(r.spacing[0]).toBe(2);
    // Sample 2 reads voxel 0: the output's voxel 0 sits two samples (4 mm) before it.
    expect(r.origin[0]).toBeCloseTo(96, 10);
  });

  it('crops and keeps patient positions: 2 samples every 2 mm are voxels 1 and 2', () => {
    const r = resample(row(), [{ kind: 'grid', size: 2, mm: 2 }, { kind: 'keep' }, { kind: 'keep' }], 0);
    expect([...r.data]).toEqual([20, 30]);
    expect(voxelToPatient(r, voxelCoord(0, 0, 0))[0]).toBeCloseTo(102, 10);
  });

  it('halves the resolution about the centre: 4 samples every 1 mm interpolate between voxels', () => {
    // Centre at input voxel 1.5; samples at −1.5, −0.5, 0.5, 1.5 mm from it = voxel 0.75, 1.25, 1.75, 2.25.
    const r = resample(row(), [{ kind: 'grid', size: 4, mm: 1 }, { kind: 'keep' }, { kind: 'keep' }], 0);
    const expected = [17.5, 22.5, 27.5, 32.5];
    [...r.data].forEach((x, n) => expect(x).toBeCloseTo(expected[n]!, 5));
  });

  it('refuses a non-positive spacing or size', () => {
    expect(() => resample(row(), [{ kind: 'grid', size: 4, mm: 0 }, { kind: 'keep' }, { kind: 'keep' }])).toThrow(/spacing must be positive/);
    expect(() => resample(row(), [{ kind: 'grid', size: 0, mm: 1 }, { kind: 'keep' }, { kind: 'keep' }])).toThrow(/positive integer/);
  });
});
