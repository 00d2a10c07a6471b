import { readNifti, readSegmentation } from '@tomosort/dicom';
import { fetchSeriesFiles, seriesUid } from '@tomosort/pacs';
import type { PacsClient } from '@tomosort/pacs';
import { stackAcross } from '@tomosort/segment';
import type { SegmentClass, SparseAnnotation } from '@tomosort/segment';
import { createVolume, dot, reorientTo, slicePlane } from '@tomosort/volume';
import type { Plane, Volume } from '@tomosort/volume';
import { readFileSync } from 'node:fs';
import { userPath } from './env';
import { CliError, UsageError } from './errors';
import type { LoadedSeries } from './seriesSource';
import { studyOfSeries } from './seriesSource';

export interface LoadedAnnotation {
  /** The volume and labels stacked across the chosen plane; `slices` index that stack. */
  readonly annotation: SparseAnnotation;
  /** The plane the annotation is stacked across. */
  readonly plane: Plane;
  /** Names known for label values (from the sample or the SEG). */
  readonly known: readonly SegmentClass[];
  /** Classes whose value occurs on the annotated slices, by value. */
  readonly present: readonly SegmentClass[];
  /**
   * Slices whose labels the source knows but the training does not use: every other slice of a
   * complete label map (a sample's, a NIfTI file), a SEG's other labelled slices. Dice is measured
   * there.
   */
  readonly evaluationSlices: readonly number[];
}

function presentClasses(labels: Volume<Uint8Array>, slices: readonly number[], known: readonly SegmentClass[]): SegmentClass[] {
  const plane = labels.dims[0] * labels.dims[1];
  const seen = new Set<number>();
  for (const k of slices) for (let p = k * plane; p < (k + 1) * plane; p++) if (labels.data[p]) seen.add(labels.data[p]!);
  return [...seen].sort((a, b) => a - b).map((value) => ({ value, name: known.find((c) => c.value === value)?.name ?? `label ${value}` }));
}

function needSlices(slices: readonly number[] | undefined, what: string): readonly number[] {
  if (!slices) throw new UsageError(`--slices K,K,… is required with ${what}: name the annotated slices`);
  return slices;
}

const fmt = (v: readonly number[]): string => `[${v.map((x) => +x.toFixed(4)).join(', ')}]`;

/** Largest 1 − cos between matching axes of a label map and its image (≈ 0.8°). */
const DIRECTION_TOLERANCE = 1e-4;
/** Largest relative difference of matching voxel sizes. */
const SPACING_TOLERANCE = 1e-3;
/** Largest distance between the two grids' first voxels, as a fraction of the smallest voxel size. */
const ORIGIN_TOLERANCE = 0.1;

/**
 * A label map put on its image's voxel grid. Both carry a voxel → mm affine (dims, spacing,
 * direction, origin); when they describe the same grid up to a permutation or flip of the voxel
 * axes (the same anatomy stored in another voxel order, e.g. an x-flipped NIfTI), the label map
 * is reoriented (exactly, no interpolation) to the image's voxel order. Otherwise — another
 * size, voxel size, orientation or position, beyond the tolerances above — it is refused with a
 * CliError naming both files: labels on another grid would land on the wrong voxels.
 */
export function alignLabelMap<T extends Volume>(labels: T, image: Volume, labelName: string, imageName: string): T {
  const r = reorientTo(labels, image.direction);
  const refuse = (what: string, got: string, want: string): never => {
    throw new CliError(
      `${labelName}: label map is not on the grid of ${imageName}: ${what} ${got} (label map, in the image's axis order) vs ${want} (image)`,
    );
  };
  if (r.dims.some((d, a) => d !== image.dims[a])) refuse('dims', fmt(r.dims), fmt(image.dims));
  if (r.spacing.some((s, a) => Math.abs(s - image.spacing[a]!) > SPACING_TOLERANCE * image.spacing[a]!)) {
    refuse('voxel size (mm)', fmt(r.spacing), fmt(image.spacing));
  }
  for (let a = 0; a < 3; a++) {
    if (1 - dot(r.direction[a]!, image.direction[a]!) > DIRECTION_TOLERANCE) {
      refuse(`axis ${a} direction`, fmt(r.direction[a]!), fmt(image.direction[a]!));
    }
  }
  const off = Math.hypot(...r.origin.map((x, c) => x - image.origin[c]!));
  if (off > ORIGIN_TOLERANCE * Math.min(...image.spacing)) refuse('first voxel at (mm)', fmt(r.origin), fmt(image.origin));
  return r as T;
}

/** A NIfTI label map on the series' grid (reoriented to its voxel order when needed), as Uint8 label values. */
function niftiLabels(path: string, series: LoadedSeries): Volume<Uint8Array> {
  const v = alignLabelMap(readNifti(new Uint8Array(readFileSync(path)), path), series.volume, path, series.id);
  const data = new Uint8Array(v.data.length);
  for (let n = 0; n < data.length; n++) {
    const x = v.data[n]!;
    if (!Number.isInteger(x) || x < 0 || x > 255) throw new CliError(`${path}: voxel ${n} holds ${x}; a label map holds integers 0..255`);
    data[n] = x;
  }
  return createVolume({ ...series.volume, data, modality: 'SEG' });
}

/**
 * The sparse annotation of a `--labels` value for a loaded series:
 *   sample       the sample's own labels (needs --slices)
 *   seg:UID      a DICOM SEG in the PACS referencing the series; its frames give the slices
 *   a file       a NIfTI label map on the series' grid (needs --slices)
 * stacked across `plane` (default: the series' own slice plane, where its slice indices and a
 * SEG's frames are). Another plane reorients volume and labels (`stackAcross`), so `slices` index
 * that plane's stack; it needs a label map complete in 3D (a sample's or a NIfTI file), since a
 * SEG labels whole slices of the series' own plane only.
 */
export async function loadAnnotation(
  series: LoadedSeries,
  opts: { readonly labels: string | undefined; readonly slices: readonly number[] | undefined; readonly pacs: () => PacsClient; readonly plane?: Plane },
): Promise<LoadedAnnotation> {
  const own = slicePlane(series.volume);
  const plane = opts.plane ?? own;
  const spec = opts.labels ?? (series.sampleLabels ? 'sample' : undefined);
  if (spec === undefined) throw new UsageError(`--labels is required for ${series.id}: seg:UID (a SEG in the PACS) or a NIfTI label map`);
  let labels: Volume<Uint8Array>;
  let slices: readonly number[];
  let known: readonly SegmentClass[] = [];
  /** Slices the source labels (undefined: all of them). */
  let labelled: readonly number[] | undefined;
  if (spec === 'sample') {
    if (!series.sampleLabels) throw new UsageError(`--labels sample needs a sample series (sample:phantom:N, sample:cranium, sample:colin27[:better]), not ${series.id}`);
    labels = series.sampleLabels.labels;
    known = series.sampleLabels.classes;
    slices = needSlices(opts.slices, '--labels sample');
  } else if (spec.startsWith('seg:')) {
    if (plane !== own) {
      throw new UsageError(`--labels seg:UID labels whole ${own} slices of ${series.id}; fine-tuning across ${plane} slices needs a label map complete in 3D (a NIfTI file or a sample's labels), or leave --plane at ${own}`);
    }
    if (!series.dicom) throw new UsageError(`--labels seg:UID needs a DICOM series (a UID or a folder), not ${series.id}`);
    const uid = spec.slice(4);
    const pacs = opts.pacs();
    const files = await fetchSeriesFiles(pacs, await studyOfSeries(pacs, uid), seriesUid(uid));
    if (files.length !== 1) throw new CliError(`SEG series ${uid} holds ${files.length} instances; expected one Segmentation object`);
    const seg = readSegmentation(files[0]!, series.dicom.series);
    labels = seg.labelmap;
    known = seg.segments.map((s) => ({ value: s.labelValue, name: s.label }));
    slices = opts.slices ?? seg.slices;
    labelled = seg.slices;
    const missing = slices.filter((k) => !seg.slices.includes(k));
    if (missing.length > 0) throw new UsageError(`SEG ${uid} has no frames on slice(s) ${missing.join(', ')}; it covers ${seg.slices.join(', ')}`);
  } else {
    labels = niftiLabels(userPath(spec), series);
    slices = needSlices(opts.slices, 'a label map file');
  }
  const volume = stackAcross(series.volume, plane);
  labels = stackAcross(labels, plane);
  const annotation: SparseAnnotation = { id: series.id, volume, labels, slices };
  const evaluationSlices = (labelled ?? [...Array(labels.dims[2]).keys()]).filter((k) => !slices.includes(k));
  return { annotation, plane, known, present: presentClasses(labels, slices, known), evaluationSlices };
}
