import { describe, expect, it } from 'vitest';
import { PLANE_FRAMES, createVolume } from '@tomosort/volume';
import type { Direction, Vec3, Volume } from '@tomosort/volume';
import { readNifti } from './nifti';
import { writeNifti } from './writeNifti';

/** Rotation by `t` rad about the unit axis `u` (Rodrigues), as direction cosines (columns i, j, k). */
function rotation(u: Vec3, t: number): Direction {
  const [x, y, z] = u;
  const c = Math.cos(t);
  const s = Math.sin(t);
  const m = [
    [c + x * x * (1 - c), x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
    [y * x * (1 - c) + z * s, c + y * y * (1 - c), y * z * (1 - c) - x * s],
    [z * x * (1 - c) - y * s, z * y * (1 - c) + x * s, c + z * z * (1 - c)],
  ];
  return [0, 1, 2].map((col) => [m[0]![col]!, m[1]![col]!, m[2]![col]!]) as unknown as Direction;
}

const n = Math.sqrt(3);
const OBLIQUE = rotation([1 / n, 1 / n, 1 / n], 0.4);
/** Sagittal frame mirrored: k = +x, i = +y, j = −z is left-handed (i × j = −k). */
const LEFT_HANDED = PLANE_FRAMES.sagittal;

/** dims [5,4,3] labels 0..5 by voxel, spacing 0.9 × 1.1 × 2.5 mm, origin (−90.3, 120.7, −61.2) LPS. */
function labelMap(direction: Direction): Volume<Uint8Array> {
  const data = Uint8Array.from({ length: 60 }, (_, v) => (v * 7) % 6);
  return createVolume({ data, dims: [5, 4, 3], spacing: [0.9, 1.1, 2.5], origin: [-90.3, 120.7, -61.2], direction, modality: 'SEG' });
}

/** The LPS voxel → patient affine, 3×4: columns spacing·direction, then origin. */
const affine = (v: Volume): number[] => [0, 1, 2].flatMap((r) => [...[0, 1, 2].map((c) => v.direction[c as 0 | 1 | 2][r as 0 | 1 | 2] * v.spacing[c as 0 | 1 | 2]), v.origin[r as 0 | 1 | 2]]);

const expectSameGrid = (got: Volume, want: Volume): void => {
  expect(got.dims).toEqual(want.dims);
  const [a, b] = [affine(got), affine(want)];
  a.forEach((x, i) => expect(Math.abs(x - b[i]!), `affine entry ${i}: ${x} vs ${b[i]}`).toBeLessThan(1e-4));
};

/** The same bytes with sform_code 0, so a reader falls back on the qform. */
const qformOnly = (bytes: Uint8Array): Uint8Array => {
  const out = bytes.slice();
  new DataView(out.buffer).setInt16(254, 0, true);
  return out;
};

describe('writeNifti → readNifti', () => {
  it.each([
    ['axial (identity)', PLANE_FRAMES.axial],
    ['coronal', PLANE_FRAMES.coronal],
    ['left-handed (sagittal frame)', LEFT_HANDED],
    ['oblique (0.4 rad about (1,1,1))', OBLIQUE],
  ] as const)('uint8 label map [5,4,3], %s: same labels, affine within 1e-4 mm from the sform and from the qform alone', (_, direction) => {
    const v = labelMap(direction);
    const bytes = writeNifti(v);
    for (const file of [bytes, qformOnly(bytes)]) {
      const back = readNifti(file, 'labels.nii');
      expect(back.data).toBeInstanceOf(Uint8Array);
      expect([...back.data]).toEqual([...v.data]);
      expectSameGrid(back, v);
    }
  });

  it('header: 352-byte vox_offset, uint8 (datatype 2, bitpix 8), intent NIFTI_INTENT_LABEL, sform/qform code 1, mm, magic "n+1"', () => {
    const bytes = writeNifti(labelMap(OBLIQUE), { description: 'tomosort prediction' });
    const h = new DataView(bytes.buffer, bytes.byteOffset);
    expect(bytes.length).toBe(352 + 60);
    expect([h.getInt32(0, true), h.getFloat32(108, true)]).toEqual([348, 352]);
    expect([h.getInt16(68, true), h.getInt16(70, true), h.getInt16(72, true)]).toEqual([1002, 2, 8]);
    expect([h.getInt16(252, true), h.getInt16(254, true), bytes[123]]).toEqual([1, 1, 2]);
    expect([h.getFloat32(124, true), h.getFloat32(128, true)]).toEqual([5, 0]); // cal_max, cal_min
    expect(String.fromCharCode(...bytes.subarray(344, 348))).toBe('n+1\0');
    expect(String.fromCharCode(...bytes.subarray(148, 167))).toBe('tomosort prediction');
  });

  it('gzip: true → gzip magic 1f 8b, and readNifti reads it back the same', () => {
    const v = labelMap(PLANE_FRAMES.coronal);
    const gz = writeNifti(v, { gzip: true });
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    const back = readNifti(gz, 'labels.nii.gz');
    expect([...back.data]).toEqual([...v.data]);
    expectSameGrid(back, v);
  });

  it('float32 CT values [2,2,2] keep type and values; no label intent', () => {
    const v = createVolume({ data: Float32Array.from([-1000, -0.5, 0, 0.25, 40, 400, 1e4, 3071]), dims: [2, 2, 2], spacing: [1, 1, 1], modality: 'CT' });
    const bytes = writeNifti(v);
    expect(new DataView(bytes.buffer).getInt16(68, true)).toBe(0);
    const back = readNifti(bytes, 'ct.nii');
    expect(back.data).toBeInstanceOf(Float32Array);
    expect([...back.data]).toEqual([...v.data]);
  });
});
