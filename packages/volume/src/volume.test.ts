import { describe, expect, it } from 'vitest';
import { InvalidGeometryError, OutOfRangeError } from './errors';
import { patientMm, voxelCoord } from './types';
import { createVolume, handedness, patientToVoxel, voxelIndex, voxelToPatient } from './volume';

const ramp = (n: number) => Int16Array.from({ length: n }, (_, x) => x);

describe('createVolume', () => {
  it('rejects a buffer that does not match dims [2,3,4]', () => {
    expect(() => createVolume({ data: ramp(23), dims: [2, 3, 4], spacing: [1, 1, 1] })).toThrow(
      /holds 23 values but dims \[2, 3, 4\] need 24/,
    );
  });
  it('rejects non-positive spacing and non-orthogonal directions', () => {
    expect(() => createVolume({ data: ramp(8), dims: [2, 2, 2], spacing: [1, 0, 1] })).toThrow(InvalidGeometryError);
    expect(() =>
      createVolume({
        data: ramp(8),
        dims: [2, 2, 2],
        spacing: [1, 1, 1],
        direction: [
          [1, 0, 0],
          [Math.SQRT1_2, Math.SQRT1_2, 0],
          [0, 0, 1],
        ],
      }),
    ).toThrow(/not orthogonal/);
  });
});

describe('voxel ⇄ patient', () => {
  const v = createVolume({
    data: ramp(24),
    dims: [2, 3, 4],
    spacing: [0.5, 2, 3],
    origin: [10, 20, 30],
    direction: [
      [1, 0, 0],
      [0, 0, -1],
      [0, 1, 0],
    ],
  });
  it('voxel (1,2,3) of a coronal stack lies at origin + 0.5·x − 4·z + 9·y', () => {
    expect(voxelToPatient(v, voxelCoord(1, 2, 3))).toEqual([10.5, 29, 26]);
  });
  it('patientToVoxel inverts voxelToPatient', () => {
    const c = patientToVoxel(v, patientMm(10.5, 29, 26));
    expect(c[0]).toBeCloseTo(1, 12);
    expect(c[1]).toBeCloseTo(2, 12);
    expect(c[2]).toBeCloseTo(3, 12);
  });
  it('voxelIndex is i + nx·(j + ny·k) and range-checked', () => {
    expect(voxelIndex(v, 1, 2, 3)).toBe(1 + 2 * (2 + 3 * 3));
    expect(v.data[voxelIndex(v, 1, 2, 3)]).toBe(23);
    expect(() => voxelIndex(v, 0, 3, 0)).toThrow(OutOfRangeError);
  });
  it('a coronal frame [x, −z, y] is right-handed', () => {
    expect(handedness(v)).toBe(1);
  });
});
