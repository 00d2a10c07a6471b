/**
 * Annotated planes in any orientation. OHIF keeps a labelmap as one label image per acquired slice
 * (columns × rows each, in stack order); a radiologist may draw in the acquisition or in a
 * reformat (MPR: axial, coronal, sagittal), and a stroke there lands as one row or one column in
 * each acquired slice. A plane is named in that grid: `axis` 2 = acquired slice `index` (stack
 * order), axis 1 = row `index` of every slice, axis 0 = column `index` of every slice. Pure
 * functions over plain arrays: no OHIF here.
 */
import type { ReformattedLabels, SliceLabels } from './worker/protocol';

export type PlaneAxis = 0 | 1 | 2;

export interface PlaneRef {
  readonly axis: PlaneAxis;
  readonly index: number;
}

/** A stable key for a plane: "k:12" (acquired slice), "row:40", "col:7". */
export const planeKey = (p: PlaneRef): string => `${p.axis === 2 ? 'k' : p.axis === 1 ? 'row' : 'col'}:${p.index}`;

/** The plane a key names (see {@link planeKey}), or undefined for anything else. */
export function parsePlaneKey(key: string): PlaneRef | undefined {
  const m = /^(k|row|col):(\d+)$/.exec(key);
  if (!m) return undefined;
  return { axis: m[1] === 'k' ? 2 : m[1] === 'row' ? 1 : 0, index: Number(m[2]) };
}

/** A labelmap as the panel reads it: one label image per acquired slice (stack order); undefined = not loaded. */
export interface LabelStack {
  readonly columns: number;
  readonly rows: number;
  readonly slices: readonly (ArrayLike<number> | undefined)[];
}

/** Whether an image holds any label. */
export function hasLabel(data: ArrayLike<number>): boolean {
  for (let n = 0; n < data.length; n++) if (data[n]) return true;
  return false;
}

/** Planes across each axis: columns, rows, slices. */
const extent = (s: LabelStack, axis: PlaneAxis): number => (axis === 0 ? s.columns : axis === 1 ? s.rows : s.slices.length);

/**
 * The values of one plane as an image: axis 2 → the slice (columns × rows); axis 1 → row `index`
 * of every slice (columns × slices, one image row per slice in stack order); axis 0 → column
 * `index` of every slice (rows × slices). Unloaded slices read as 0.
 */
export function planeValues(s: LabelStack, p: PlaneRef): Uint8Array {
  const { columns, rows } = s;
  if (p.axis === 2) return Uint8Array.from(s.slices[p.index] ?? new Uint8Array(columns * rows));
  const width = p.axis === 1 ? columns : rows;
  const out = new Uint8Array(width * s.slices.length);
  s.slices.forEach((data, k) => {
    if (!data) return;
    for (let x = 0; x < width; x++) out[x + width * k] = data[p.axis === 1 ? x + columns * p.index : p.index + columns * x]!;
  });
  return out;
}

/**
 * The planes the radiologist drew on, from the labelled voxels alone. A brush stroke or threshold
 * fills an area in its own plane but is one voxel thick across it: in a perpendicular plane it is
 * a line. So a voxel is "flat" in a plane when it has a labelled neighbour along both of that
 * plane's in-plane axes, and planes are taken greedily by their flat voxels not yet covered (then
 * by voxels not yet covered, for strokes a voxel thin; a tie goes to the acquired slice, then to
 * rows), until every labelled voxel lies in a chosen plane. Returned by axis (2, 1, 0), then index.
 */
export function drawnPlanes(s: LabelStack): PlaneRef[] {
  const { columns, rows } = s;
  const depth = s.slices.length;
  const plane = columns * rows;
  const at = (i: number, j: number, k: number) => i >= 0 && i < columns && j >= 0 && j < rows && k >= 0 && k < depth && !!s.slices[k]?.[i + columns * j];
  /** Which of the 3 axes a labelled voxel has a labelled neighbour along (bit a). */
  const along = (n: number, k: number): number => {
    const i = n % columns;
    const j = Math.floor(n / columns);
    return (at(i - 1, j, k) || at(i + 1, j, k) ? 1 : 0) | (at(i, j - 1, k) || at(i, j + 1, k) ? 2 : 0) | (at(i, j, k - 1) || at(i, j, k + 1) ? 4 : 0);
  };
  // Flat in the plane across axis a: neighbours along both other axes.
  const FLAT = [2 | 4, 1 | 4, 1 | 2] as const;
  const extents = [columns, rows, depth] as const;
  const counts = extents.map((e) => new Int32Array(e));
  const flat = extents.map((e) => new Int32Array(e));
  const tally = (n: number, k: number, by: number) => {
    const bits = along(n, k);
    const idx = [n % columns, Math.floor(n / columns), k];
    for (let a = 0; a < 3; a++) {
      counts[a]![idx[a]!]! += by;
      if ((bits & FLAT[a]!) === FLAT[a]) flat[a]![idx[a]!]! += by;
    }
  };
  let left = 0;
  s.slices.forEach((data, k) => {
    if (!data) return;
    for (let n = 0; n < plane; n++) {
      if (!data[n]) continue;
      tally(n, k, 1);
      left++;
    }
  });
  const covered = left > 0 ? new Uint8Array(plane * depth) : new Uint8Array(0);
  const out: PlaneRef[] = [];
  while (left > 0) {
    let best: PlaneRef = { axis: 2, index: 0 };
    let most: readonly [number, number] = [-1, 0];
    for (const axis of [2, 1, 0] as const) {
      for (let i = 0; i < extents[axis]; i++) {
        const f = flat[axis]![i]!;
        const c = counts[axis]![i]!;
        if (f > most[0] || (f === most[0] && c > most[1])) {
          most = [f, c];
          best = { axis, index: i };
        }
      }
    }
    out.push(best);
    forEachVoxel(s, best, (k, n) => {
      if (!s.slices[k]?.[n] || covered[k * plane + n]) return;
      covered[k * plane + n] = 1;
      tally(n, k, -1);
      left--;
    });
  }
  return out.sort((a, b) => b.axis - a.axis || a.index - b.index);
}

/** Calls `f(k, n)` for every voxel of a plane: slice k, index n in that slice's image. */
export function forEachVoxel(s: LabelStack, p: PlaneRef, f: (k: number, n: number) => void): void {
  const { columns, rows } = s;
  if (p.axis === 2) {
    for (let n = 0; n < columns * rows; n++) f(p.index, n);
    return;
  }
  for (let k = 0; k < s.slices.length; k++) {
    if (p.axis === 1) for (let i = 0; i < columns; i++) f(k, i + columns * p.index);
    else for (let j = 0; j < rows; j++) f(k, p.index + columns * j);
  }
}

/** Writes `values` (laid out as {@link planeValues}) into a plane through `set(k, n, value)`. */
export function writePlane(s: Pick<LabelStack, 'columns' | 'rows'> & { readonly slices: readonly unknown[] }, p: PlaneRef, values: ArrayLike<number>, set: (k: number, n: number, value: number) => void): void {
  const { columns } = s;
  if (p.axis === 2) {
    for (let n = 0; n < values.length; n++) set(p.index, n, values[n]!);
    return;
  }
  const width = p.axis === 1 ? columns : s.rows;
  for (let k = 0; k < s.slices.length; k++) for (let x = 0; x < width; x++) set(k, p.axis === 1 ? x + columns * p.index : p.index + columns * x, values[x + width * k]!);
}

/** Is `p` inside the stack? */
export const inStack = (s: LabelStack, p: PlaneRef): boolean => Number.isInteger(p.index) && p.index >= 0 && p.index < extent(s, p.axis);

/**
 * The anatomical name of the planes across each voxel axis (columns, rows, slices), from the
 * acquisition's row and column direction cosines (DICOM Image Orientation, patient LPS): the
 * plane is named by the patient axis nearest its normal (x sagittal, y coronal, z axial).
 */
export function planeNames(rowCosines: readonly number[], columnCosines: readonly number[]): readonly [string, string, string] {
  const [a, b, c] = rowCosines as [number, number, number];
  const [d, e, f] = columnCosines as [number, number, number];
  const normal = [b * f - c * e, c * d - a * f, a * e - b * d];
  const name = (v: readonly number[]) => {
    const m = v.map(Math.abs);
    return m[2]! >= m[0]! && m[2]! >= m[1]! ? 'axial' : m[1]! >= m[0]! ? 'coronal' : 'sagittal';
  };
  return [name(rowCosines), name(columnCosines), name(normal)];
}

/**
 * What the worker trains on, from the labelmap and the annotated planes: each annotated acquired
 * slice whole, and each reformatted plane's values with the SOP instances of its image rows.
 */
export function trainingPayload(s: LabelStack, sops: readonly string[], planes: readonly PlaneRef[]): { annotated: SliceLabels[]; reformats: ReformattedLabels[] } {
  const annotated: SliceLabels[] = [];
  const reformats: ReformattedLabels[] = [];
  for (const p of planes) {
    if (p.axis === 2) annotated.push({ sopInstanceUID: sops[p.index]!, labels: planeValues(s, p) });
    else reformats.push({ axis: p.axis, index: p.index, labels: planeValues(s, p), sopInstanceUIDs: sops });
  }
  return { annotated, reformats };
}

/**
 * The slices a SEG export holds: every acquired slice with annotation on it (an annotated slice
 * whole; elsewhere the reformatted planes' lines), and the accepted predictions with the
 * annotation's reformatted lines written over them (what the radiologist drew wins). Stack order.
 */
export function exportSlices(s: LabelStack, sops: readonly string[], planes: readonly PlaneRef[], accepted: ReadonlyMap<string, Uint8Array>): SliceLabels[] {
  const whole = new Set(planes.filter((p) => p.axis === 2).map((p) => p.index));
  const reformats = planes.filter((p) => p.axis !== 2);
  const out: SliceLabels[] = [];
  s.slices.forEach((data, k) => {
    const sop = sops[k]!;
    const own = Uint8Array.from(data ?? new Uint8Array(s.columns * s.rows));
    const predicted = accepted.get(sop);
    if (whole.has(k) || !predicted) {
      if (whole.has(k) || hasLabel(own)) out.push({ sopInstanceUID: sop, labels: own });
      return;
    }
    const merged = Uint8Array.from(predicted);
    for (const p of reformats) {
      forEachVoxel({ ...s, slices: [own] }, { axis: p.axis, index: p.index }, (_k, n) => (merged[n] = own[n]!));
    }
    out.push({ sopInstanceUID: sop, labels: merged });
  });
  return out;
}
