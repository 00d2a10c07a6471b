import { describe, expect, it } from 'vitest';
import { drawnPlanes, exportSlices, parsePlaneKey, planeKey, planeNames, planeValues, trainingPayload, writePlane } from './planes';
import type { LabelStack, PlaneRef } from './planes';

/** A 4 columns × 3 rows × 5 slices labelmap, voxels set by (i, j, k). */
const stack = (f: (i: number, j: number, k: number) => number, slices = 5): LabelStack & { slices: Uint8Array[] } => ({
  columns: 4,
  rows: 3,
  slices: Array.from({ length: slices }, (_, k) => Uint8Array.from({ length: 12 }, (_, n) => f(n % 4, Math.floor(n / 4), k))),
});

describe('planes of a labelmap in any orientation', () => {
  it('reads a plane as an image: a slice, a row of every slice, a column of every slice', () => {
    const s = stack((i, j, k) => 100 * k + 10 * j + i);
    expect(Array.from(planeValues(s, { axis: 2, index: 1 }))).toEqual([100, 101, 102, 103, 110, 111, 112, 113, 120, 121, 122, 123]);
    expect(Array.from(planeValues(s, { axis: 1, index: 2 })).slice(0, 8)).toEqual([20, 21, 22, 23, 120, 121, 122, 123]);
    expect(Array.from(planeValues(s, { axis: 0, index: 3 })).slice(0, 6)).toEqual([3, 13, 23, 103, 113, 123]);
    // writePlane is its inverse.
    for (const p of [{ axis: 2, index: 4 }, { axis: 1, index: 0 }, { axis: 0, index: 2 }] as PlaneRef[]) {
      const copy = stack(() => 0);
      writePlane(copy, p, planeValues(s, p), (k, n, v) => (copy.slices[k]![n] = v));
      expect(Array.from(planeValues(copy, p))).toEqual(Array.from(planeValues(s, p)));
    }
  });

  it('finds the planes drawn on: 2 acquired slices, an axial-reformat row and a column, from the voxels alone', () => {
    // Slice 1 and 3 drawn (a blob each), row 2 drawn across slices 0–4 (columns 1–3), column 0 across slices 1–4 (rows 0–1).
    const s = stack((i, j, k) => ((k === 1 || k === 3) && i >= 1 && j <= 1 ? 1 : j === 2 && i >= 1 ? 2 : i === 0 && j <= 1 && k >= 1 ? 3 : 0));
    expect(drawnPlanes(s)).toEqual([
      { axis: 2, index: 1 },
      { axis: 2, index: 3 },
      { axis: 1, index: 2 },
      { axis: 0, index: 0 },
    ]);
    // A single line in one slice lies in that slice and in a row: the acquired slice wins.
    expect(drawnPlanes(stack((i, j, k) => (k === 2 && j === 1 ? 1 : 0)))).toEqual([{ axis: 2, index: 2 }]);
    expect(drawnPlanes(stack(() => 0))).toEqual([]);
  });

  it('keys, names and payloads', () => {
    for (const p of [{ axis: 2, index: 12 }, { axis: 1, index: 0 }, { axis: 0, index: 7 }] as PlaneRef[]) expect(parsePlaneKey(planeKey(p))).toEqual(p);
    expect(planeKey({ axis: 1, index: 40 })).toBe('row:40');
    expect(parsePlaneKey('x:1')).toBeUndefined();
    // A coronal acquisition (rows run head → feet): rows are axial planes, columns sagittal.
    expect(planeNames([1, 0, 0], [0, 0, -1])).toEqual(['sagittal', 'axial', 'coronal']);
    expect(planeNames([1, 0, 0], [0, 1, 0])).toEqual(['sagittal', 'coronal', 'axial']);
    const s = stack((i, j, k) => (j === 2 ? k + 1 : 0));
    const sops = ['a', 'b', 'c', 'd', 'e'];
    const { annotated, reformats } = trainingPayload(s, sops, [{ axis: 2, index: 0 }, { axis: 1, index: 2 }]);
    expect(annotated.map((a) => a.sopInstanceUID)).toEqual(['a']);
    expect(reformats).toEqual([{ axis: 1, index: 2, labels: planeValues(s, { axis: 1, index: 2 }), sopInstanceUIDs: sops }]);
  });

  it('exports annotated slices whole, and accepted predictions under the reformatted lines the radiologist drew', () => {
    // Annotation: slice 0 whole (value 1 in row 0), row 2 of every slice (value 2 in column 3 only: background elsewhere on the row).
    const s = stack((i, j, k) => (k === 0 && j === 0 ? 1 : j === 2 && i === 3 ? 2 : 0));
    const planes: PlaneRef[] = [{ axis: 2, index: 0 }, { axis: 1, index: 2 }];
    const sops = ['a', 'b', 'c', 'd', 'e'];
    const prediction = new Uint8Array(12).fill(1);
    const out = exportSlices(s, sops, planes, new Map([['c', prediction], ['a', prediction]]));
    // a: annotated (prediction ignored); b, d, e: the row's voxel only; c: prediction, its row 2 as drawn.
    expect(out.map((x) => x.sopInstanceUID)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(Array.from(out[0]!.labels)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
    expect(Array.from(out[1]!.labels)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    expect(Array.from(out[2]!.labels)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 2]);
  });
});
