import type { Volume } from '@tomosort/volume';
import { SegmentError } from './errors';

/**
 * A plane drawn across another voxel axis than k: a reformat (e.g. an axial plane of a coronal
 * acquisition, as OHIF's MPR shows it): the voxels with voxel coordinate `axis` = `index`
 * (axis 0: one column i of every slice; axis 1: one row j of every slice).
 */
export interface ReformatPlane {
  readonly axis: 0 | 1;
  readonly index: number;
}

/**
 * A volume with labels on a few of its planes: what a radiologist annotates. Only the listed
 * slices (k, the volume's own slice axis) and reformatted planes are read from `labels`; every
 * other voxel is unknown, never background.
 */
export interface SparseAnnotation {
  /** Names the volume in messages (series UID, file, sample id). */
  readonly id: string;
  /** Modality units (HU for CT). */
  readonly volume: Volume;
  /** Label values on the same voxel grid as `volume` (0 = background). */
  readonly labels: Volume<Uint8Array>;
  /** Annotated slices (k indices), each fully labelled for every class. */
  readonly slices: readonly number[];
  /** Annotated planes across the other voxel axes (reformats), each fully labelled too. */
  readonly reformats?: readonly ReformatPlane[];
}

/** One output class of a segmentation model: class c ≥ 1 is the label value `classes[c − 1].value`. */
export interface SegmentClass {
  readonly value: number;
  readonly name: string;
}

/** Throws {@link SegmentError} unless `a` is usable: same grid, slices in range, no duplicates. */
export function validateAnnotation(a: SparseAnnotation): void {
  const [nx, ny, nz] = a.volume.dims;
  const [lx, ly, lz] = a.labels.dims;
  if (nx !== lx || ny !== ly || nz !== lz) {
    throw new SegmentError(`${a.id}: labels are [${a.labels.dims.join(', ')}] but the volume is [${a.volume.dims.join(', ')}]`);
  }
  const reformats = a.reformats ?? [];
  if (a.slices.length === 0 && reformats.length === 0) throw new SegmentError(`${a.id}: no annotated slices`);
  const seen = new Set<number>();
  for (const k of a.slices) {
    if (!Number.isInteger(k) || k < 0 || k >= nz) throw new SegmentError(`${a.id}: annotated slice ${k} is outside 0..${nz - 1}`);
    if (seen.has(k)) throw new SegmentError(`${a.id}: slice ${k} is listed twice`);
    seen.add(k);
  }
  const planes = new Set<string>();
  for (const r of reformats) {
    if (r.axis !== 0 && r.axis !== 1) throw new SegmentError(`${a.id}: a reformatted plane lies across voxel axis 0 or 1, not ${String(r.axis)}`);
    const n = a.volume.dims[r.axis];
    if (!Number.isInteger(r.index) || r.index < 0 || r.index >= n) throw new SegmentError(`${a.id}: reformatted plane ${r.index} across axis ${r.axis} is outside 0..${n - 1}`);
    const key = `${r.axis}:${r.index}`;
    if (planes.has(key)) throw new SegmentError(`${a.id}: reformatted plane ${r.index} across axis ${r.axis} is listed twice`);
    planes.add(key);
  }
}

/** Throws {@link SegmentError} unless class values are distinct integers in 1..255. */
export function validateClasses(classes: readonly SegmentClass[]): void {
  if (classes.length === 0) throw new SegmentError('at least one class (label value) is needed');
  const seen = new Set<number>();
  for (const c of classes) {
    if (!Number.isInteger(c.value) || c.value < 1 || c.value > 255) throw new SegmentError(`class "${c.name}": label value must be an integer in 1..255, got ${c.value}`);
    if (seen.has(c.value)) throw new SegmentError(`label value ${c.value} is listed twice`);
    seen.add(c.value);
  }
}
