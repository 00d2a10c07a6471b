import { describe, expect, it } from 'vitest';
import { PLANE_FRAMES, cutSlices, getSlice, planeAxis, reorient, reorientTo, slicePlane } from './slice';
import { OutOfRangeError } from './errors';
import { voxelCoord } from './types';
import { createVolume, voxelIndex, voxelToPatient } from './volume';

// dims [3,2,4]: value = 100·k + 10·j + i, so a voxel's value names its index.
const coded = () => {
  const data = new Int16Array(24);
  for (let k = 0; k < 4; k++) for (let j = 0; j < 2; j++) for (let i = 0; i < 3; i++) data[i + 3 * (j + 2 * k)] = 100 * k + 10 * j + i;
  return data;
};

describe('getSlice', () => {
  const v = createVolume({ data: coded(), dims: [3, 2, 4], spacing: [1, 2, 3] });
  it('axis 2, index 1 of dims [3,2,4] is the 3×2 image of k = 1', () => {
    const s = getSlice(v, 2, 1);
    expect([s.width, s.height, s.spacing]).toEqual([3, 2, [1, 2]]);
    expect([...s.data]).toEqual([100, 101, 102, 110, 111, 112]);
    expect(s.data).toBeInstanceOf(Int16Array);
  });
  it('axis 1, index 1 is 3×4 (x = i, y = k)', () => {
    const s = getSlice(v, 1, 1);
    expect([s.width, s.height, s.spacing]).toEqual([3, 4, [1, 3]]);
    expect([...s.data]).toEqual([10, 11, 12, 110, 111, 112, 210, 211, 212, 310, 311, 312]);
  });
  it('axis 0, index 2 is 2×4 (x = j, y = k)', () => {
    const s = getSlice(v, 0, 2);
    expect([...s.data]).toEqual([2, 12, 102, 112, 202, 212, 302, 312]);
  });
  it('rejects an index past the end, naming the axis', () => {
    expect(() => getSlice(v, 2, 4)).toThrow(/slice index along axis 2 = 4 is out of range \[0, 3\]/);
  });
});

describe('cutSlices', () => {
  const direction = [
    [0, 0, 1],
    [1, 0, 0],
    [0, 1, 0],
  ] as const;
  const v = createVolume({ data: coded(), dims: [3, 2, 4], spacing: [1, 2, 3], origin: [5, -7, 11], direction, modality: 'MR' });
  it.each([
    [1, 2, [100, 212]],
    [0, 0, [0, 12]],
    [3, 3, [300, 312]],
    [0, 3, [0, 312]],
  ] as const)('slices %i..%i of dims [3,2,4]: same voxels, each at its old patient position', (first, last, [lo, hi]) => {
    const c = cutSlices(v, first, last);
    expect(c.dims).toEqual([3, 2, last - first + 1]);
    expect([c.data[0], c.data[c.data.length - 1]]).toEqual([lo, hi]);
    expect(c.data).toBeInstanceOf(Int16Array);
    expect([c.spacing, c.direction, c.modality]).toEqual([v.spacing, v.direction, 'MR']);
    for (let k = 0; k < c.dims[2]; k++) {
      for (let j = 0; j < 2; j++) for (let i = 0; i < 3; i++) expect(voxelToPatient(c, voxelCoord(i, j, k))).toEqual(voxelToPatient(v, voxelCoord(i, j, k + first)));
    }
  });
  it('copies: writing the cut leaves the source alone', () => {
    const c = cutSlices(v, 1, 1);
    c.data[0] = -1;
    expect(v.data[6]).toBe(100);
  });
  it.each([
    [-1, 2, 'first slice = -1 is out of range [0, 3]'],
    [4, 4, 'first slice = 4 is out of range [0, 3]'],
    [2, 1, 'last slice = 1 is out of range [2, 3]'],
    [1, 4, 'last slice = 4 is out of range [1, 3]'],
  ])('refuses %i..%i', (first, last, message) => {
    expect(() => cutSlices(v, first, last)).toThrow(OutOfRangeError);
    expect(() => cutSlices(v, first, last)).toThrow(message);
  });
});

describe('reorient', () => {
  // A coronal stack (like the InVesalius head CT): i → L, j → feet, k → posterior.
  const coronal = createVolume({
    data: coded(),
    dims: [3, 2, 4],
    spacing: [0.5, 0.7, 1.5],
    origin: [5, -7, 11],
    direction: [
      [1, 0, 0],
      [0, 0, -1],
      [0, 1, 0],
    ],
  });

  it('finds the voxel axis across each plane', () => {
    expect(planeAxis(coronal, 'coronal')).toBe(2);
    expect(planeAxis(coronal, 'axial')).toBe(1);
    expect(planeAxis(coronal, 'sagittal')).toBe(0);
  });

  it.each(['axial', 'coronal', 'sagittal'] as const)('to %s keeps every voxel at its patient position', (plane) => {
    const r = reorient(coronal, plane);
    expect(r.data.length).toBe(coronal.data.length);
    for (let k = 0; k < r.dims[2]; k++)
      for (let j = 0; j < r.dims[1]; j++)
        for (let i = 0; i < r.dims[0]; i++) {
          const value = r.data[voxelIndex(r, i, j, k)]!;
          const src = voxelCoord(value % 10, Math.floor(value / 10) % 10, Math.floor(value / 100));
          const a = voxelToPatient(r, voxelCoord(i, j, k));
          const b = voxelToPatient(coronal, src);
          for (let c = 0; c < 3; c++) expect(a[c]).toBeCloseTo(b[c]!, 9);
        }
  });

  it.each(['axial', 'coronal', 'sagittal'] as const)('to %s and back with reorientTo(…, direction) is the same volume, voxel for voxel', (plane) => {
    const back = reorientTo(reorient(coronal, plane), coronal.direction);
    expect([...back.data]).toEqual([...coronal.data]);
    expect([back.dims, back.spacing, back.direction]).toEqual([coronal.dims, coronal.spacing, coronal.direction]);
    for (let c = 0; c < 3; c++) expect(back.origin[c]).toBeCloseTo(coronal.origin[c]!, 9);
  });

  it('to axial stacks feet → head: direction[2] = +z, 2 slices of 0.7 mm', () => {
    const r = reorient(coronal, 'axial');
    expect(r.direction[2]).toEqual([0, 0, 1]);
    expect(r.dims).toEqual([3, 4, 2]);
    expect(r.spacing).toEqual([0.5, 1.5, 0.7]);
  });
});

describe('slicePlane', () => {
  const cos = Math.cos(0.3);
  const sin = Math.sin(0.3);
  it.each([
    ['axial frame', PLANE_FRAMES.axial, 'axial'],
    ['coronal frame', PLANE_FRAMES.coronal, 'coronal'],
    ['sagittal frame', PLANE_FRAMES.sagittal, 'sagittal'],
    ['axial stacked head → feet (k = −z)', [[1, 0, 0], [0, -1, 0], [0, 0, -1]], 'axial'],
    ['coronal tilted 0.3 rad about x (k = (0, cos, sin))', [[1, 0, 0], [0, -sin, cos], [0, cos, sin]], 'coronal'],
  ] as const)('%s → %s', (_, direction, plane) => {
    expect(slicePlane({ direction })).toBe(plane);
  });
});
