import { createVolume } from '@tomosort/volume';
import { describe, expect, it } from 'vitest';
import type { SegmentClass, SparseAnnotation } from '../annotation';
import { isSegmentError } from '../errors';
import { interpolateAnnotation } from './interpolate';

const N = 32;
const plane = N * N;

/** Labels from `value(i, j, k)` on an N × N × nz grid, annotated on `slices`. */
function annotation(nz: number, slices: number[], value: (i: number, j: number, k: number) => number): SparseAnnotation {
  const data = new Uint8Array(plane * nz);
  for (let k = 0; k < nz; k++) for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) data[i + N * (j + N * k)] = value(i, j, k);
  const geometry = { dims: [N, N, nz] as const, spacing: [1, 1, 2] as const, origin: [0, 0, 0] as const, direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] as const };
  return { id: 'test', volume: createVolume({ ...geometry, data: new Float32Array(plane * nz) }), labels: createVolume({ ...geometry, data, modality: 'SEG' }), slices };
}

const count = (data: Uint8Array, k: number, v: number): number => data.subarray(k * plane, (k + 1) * plane).reduce((n, x) => n + (x === v ? 1 : 0), 0);
const ONE: SegmentClass[] = [{ value: 1, name: 'disk' }];

describe('interpolateAnnotation (morphological contour interpolation, ITK wasm)', () => {
  it('a cone annotated at its two ends: the median contour of concentric disks is the mean radius', async () => {
    // Radius 4 at k=0 growing to 12 at k=8: slice 4 should be a disk of radius ≈ 8 (π·8² ≈ 201 px).
    const a = annotation(9, [0, 8], (i, j, k) => (Math.hypot(i - 15.5, j - 15.5) < 4 + k ? 1 : 0));
    const out = await interpolateAnnotation(a, ONE);
    const areas = Array.from({ length: 9 }, (_, k) => count(out.data, k, 1));
    const truth = Array.from({ length: 9 }, (_, k) => count(a.labels.data, k, 1));
    expect(areas[0]).toBe(truth[0]);
    expect(areas[8]).toBe(truth[8]);
    const radius4 = Math.sqrt(areas[4]! / Math.PI);
    expect(radius4).toBeGreaterThan(7);
    expect(radius4).toBeLessThan(9);
    // Monotone growth between the ends.
    for (let k = 1; k < 9; k++) expect(areas[k]!).toBeGreaterThanOrEqual(areas[k - 1]!);
  });

  it('an annotated slice without the class closes its surface; slices outside the annotated range stay empty', async () => {
    const a = annotation(16, [2, 8, 12], (i, j, k) => (k >= 5 && k <= 12 && Math.hypot(i - 15.5, j - 15.5) < 8 ? 1 : 0));
    const out = await interpolateAnnotation(a, ONE);
    for (const k of [0, 1, 2, 13, 14, 15]) expect(count(out.data, k, 1), `slice ${k}`).toBe(0);
    for (const k of [9, 10, 11]) expect(count(out.data, k, 1), `slice ${k}`).toBeGreaterThan(150);
  });

  it('keeps annotated slices exactly, drops values not asked for, and never lets one class overwrite another', async () => {
    // Class 1: left disk, class 2: right disk, value 7 (not asked for) elsewhere.
    const a = annotation(10, [0, 9], (i, j) => (Math.hypot(i - 9, j - 16) < 5 ? 1 : Math.hypot(i - 23, j - 16) < 5 ? 2 : j < 3 ? 7 : 0));
    const classes: SegmentClass[] = [{ value: 1, name: 'left' }, { value: 2, name: 'right' }];
    const out = await interpolateAnnotation(a, classes);
    for (const k of [0, 9]) {
      for (let p = k * plane; p < (k + 1) * plane; p++) expect(out.data[p]).toBe(a.labels.data[p] === 7 ? 0 : a.labels.data[p]);
    }
    for (let k = 1; k < 9; k++) {
      expect(count(out.data, k, 1)).toBe(count(a.labels.data, k, 1));
      expect(count(out.data, k, 2)).toBe(count(a.labels.data, k, 2));
      expect(count(out.data, k, 7)).toBe(0);
    }
    expect(out.dims).toEqual(a.labels.dims);
    expect(out.spacing).toEqual(a.labels.spacing);
  });

  it('refuses an invalid annotation with a SegmentError', async () => {
    const a = annotation(4, [5], () => 0);
    await expect(interpolateAnnotation(a, ONE)).rejects.toSatisfy(isSegmentError);
  });
});
