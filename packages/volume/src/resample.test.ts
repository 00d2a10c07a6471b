import { describe, expect, it } from 'vitest';
import { axisWeights, resample, resampleNearest, resampleTo } from './resample';
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

describe('resampleNearest', () => {
  // Source: 4 voxels along i, 1 mm apart, at patient x = 0, 1, 2, 3 (labels 10, 20, 30, 40).
  const src = createVolume({ data: Uint8Array.from([10, 20, 30, 40]), dims: [4, 1, 1], spacing: [1, 1, 1], modality: 'SEG' });
  const flipX = [
    [-1, 0, 0],
    [0, -1, 0],
    [0, 0, 1],
  ] as const;
  it.each([
    // name, grid, expected values
    ['same grid', { dims: [4, 1, 1], spacing: [1, 1, 1], origin: [0, 0, 0] }, [10, 20, 30, 40]],
    ['0.5 mm along x (x.5 ties → higher index; x = 3.5 outside)', { dims: [8, 1, 1], spacing: [0.5, 1, 1], origin: [0, 0, 0] }, [10, 20, 20, 30, 30, 40, 40, 0]],
    ['2 mm from x = 1', { dims: [2, 1, 1], spacing: [2, 1, 1], origin: [1, 0, 0] }, [20, 40]],
    ['shifted 0.4 mm: nearest, not blended', { dims: [4, 1, 1], spacing: [1, 1, 1], origin: [0.4, 0, 0] }, [10, 20, 30, 40]],
    ['x → −x from x = 3 (i → patient right)', { dims: [4, 1, 1], spacing: [1, 1, 1], origin: [3, 0, 0], direction: flipX }, [40, 30, 20, 10]],
    ['i along patient z: one voxel inside, three outside', { dims: [4, 1, 1], spacing: [1, 1, 1], origin: [2, 0, 0], direction: [[0, 0, 1], [0, 1, 0], [-1, 0, 0]] }, [30, 0, 0, 0]],
  ] as const)('%s', (_name, grid, expected) => {
    const g = createVolume({ data: new Uint8Array(grid.dims[0]), dims: grid.dims, spacing: grid.spacing, origin: grid.origin, ...('direction' in grid ? { direction: grid.direction } : {}) });
    const r = resampleNearest(src, g);
    expect([...r.data]).toEqual(expected);
    expect(r.data).toBeInstanceOf(Uint8Array);
    expect(r.dims).toEqual(g.dims);
    expect(r.origin).toEqual(g.origin);
    expect(r.direction).toEqual(g.direction);
    expect(r.modality).toBe('SEG');
  });

  it('fills voxels outside the source with `outside`', () => {
    const g = createVolume({ data: new Uint8Array(3), dims: [3, 1, 1], spacing: [1, 1, 1], origin: [-1, 0, 0] });
    expect([...resampleNearest(src, g, 255).data]).toEqual([255, 10, 20]);
  });

  it('a 3D grid: every output voxel holds the source voxel at its own patient position', () => {
    const data = new Int16Array(5 * 4 * 3).map((_, n) => n);
    const v = createVolume({ data, dims: [5, 4, 3], spacing: [2, 1.5, 3], origin: [-4, 7, 1] });
    // Same voxel centres as v's even-i voxels, stored with i and k reversed.
    const g = createVolume({ data: new Int16Array(3 * 4 * 3), dims: [3, 4, 3], spacing: [4, 1.5, 3], origin: [4, 7, 7], direction: [[-1, 0, 0], [0, 1, 0], [0, 0, -1]] });
    const r = resampleNearest(v, g);
    for (let k = 0; k < 3; k++) for (let j = 0; j < 4; j++) for (let i = 0; i < 3; i++) {
      expect(r.data[i + 3 * (j + 4 * k)]).toBe(data[(4 - 2 * i) + 5 * (j + 4 * (2 - k))]);
    }
  });
});
