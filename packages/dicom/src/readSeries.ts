import { createVolume, cross, dot, norm } from '@tomosort/volume';
import type { Direction, Vec3, Volume } from '@tomosort/volume';
import {
  DuplicateInstanceError,
  InconsistentSeriesError,
  MissingSliceError,
  MixedSeriesError,
  NonUniformSpacingError,
  DicomError,
} from './errors';
import { parseImage } from './parseImage';
import type { DicomInput, ImageHeader, ParsedImage, StudyAttributes } from './parseImage';
import type { PixelDecoders } from './decode';

/** A series read into a volume, with the identifiers needed to refer back to it. */
export interface SeriesVolume
  extends Pick<
    ImageHeader,
    | 'studyInstanceUID'
    | 'seriesInstanceUID'
    | 'frameOfReferenceUID'
    | 'modality'
    | 'seriesDescription'
    | 'studyDescription'
    | 'patientName'
    | 'patientID'
  > {
  /** The first instance's study and patient attributes (absent for volumes not read from DICOM). */
  readonly study?: StudyAttributes;
  /** Voxels in modality units (HU for CT). Int16 when slope/intercept keep values integral and in range, else Float32. */
  readonly volume: Volume<Int16Array | Float32Array>;
  /** SOP Instance UIDs in slice order (k = 0 first). */
  readonly sopInstanceUIDs: readonly string[];
  /** Input names in slice order. */
  readonly sources: readonly string[];
  readonly transferSyntaxUIDs: readonly string[];
}

export interface ReadSeriesOptions {
  /**
   * Largest deviation of a slice step from the median step that still counts as uniform:
   * `spacingTolerance × median + spacingToleranceMm`. Defaults 0.01 (1 %) and 0.1 mm — real
   * scanners round ImagePositionPatient to 0.1 mm or so.
   */
  readonly spacingTolerance?: number;
  readonly spacingToleranceMm?: number;
  /** Cosine tolerance when comparing orientations (default 1e-4). */
  readonly orientationTolerance?: number;
  /**
   * Decoders of compressed pixel data (from loadPixelDecoders). Without them only RLE among the
   * compressed syntaxes is read; readSeriesAsync loads the ones the inputs need.
   */
  readonly decoders?: PixelDecoders;
}

const fmt = (v: readonly number[]) => `[${v.map((x) => +x.toFixed(6)).join(', ')}]`;

function seriesLabel(inputs: readonly DicomInput[], uid?: string): string {
  if (uid) return `series ${uid}`;
  return inputs.length === 1 ? inputs[0]!.name : `${inputs.length} files (${inputs[0]?.name ?? ''} …)`;
}

function checkSameSeries(images: readonly ParsedImage[], inputs: readonly DicomInput[]): void {
  const counts: Record<string, number> = {};
  for (const im of images) counts[im.header.seriesInstanceUID] = (counts[im.header.seriesInstanceUID] ?? 0) + 1;
  if (Object.keys(counts).length > 1) throw new MixedSeriesError(seriesLabel(inputs), counts);
}

/** Refuses two files with one SOPInstanceUID: a PACS stores one instance per UID and drops the other. */
function checkUniqueInstances(images: readonly ParsedImage[], source: string): void {
  const seen = new Map<string, string>();
  for (const { header: h } of images) {
    const other = seen.get(h.sopInstanceUID);
    if (other !== undefined) throw new DuplicateInstanceError(source, h.sopInstanceUID, other, h.name);
    seen.set(h.sopInstanceUID, h.name);
  }
}

function checkConsistent(images: readonly ParsedImage[], source: string, cosTol: number): void {
  const first = images[0]!.header;
  const same: { attr: string; get: (h: ImageHeader) => string }[] = [
    { attr: 'Rows', get: (h) => String(h.rows) },
    { attr: 'Columns', get: (h) => String(h.columns) },
    { attr: 'BitsAllocated', get: (h) => String(h.bitsAllocated) },
    { attr: 'Modality', get: (h) => h.modality },
    { attr: 'FrameOfReferenceUID', get: (h) => h.frameOfReferenceUID ?? '(none)' },
  ];
  for (const im of images) {
    const h = im.header;
    for (const { attr, get } of same) {
      if (get(h) !== get(first)) throw new InconsistentSeriesError(source, attr, get(first), get(h), h.name);
    }
    // Spacing is compared with a tolerance: writers print it with different precision.
    if (h.pixelSpacing.some((s, n) => Math.abs(s - first.pixelSpacing[n]!) > 1e-4 * Math.max(1, s))) {
      throw new InconsistentSeriesError(source, 'PixelSpacing', fmt(first.pixelSpacing), fmt(h.pixelSpacing), h.name);
    }
    for (let a = 0; a < 2; a++) {
      if (1 - dot(h.imageOrientationPatient[a]!, first.imageOrientationPatient[a]!) > cosTol) {
        throw new InconsistentSeriesError(
          source,
          'ImageOrientationPatient',
          fmt([...first.imageOrientationPatient[0], ...first.imageOrientationPatient[1]]),
          fmt([...h.imageOrientationPatient[0], ...h.imageOrientationPatient[1]]),
          h.name,
        );
      }
    }
  }
}

/** Unit row, column and normal directions of the first image (parseImage has checked they are orthonormal). */
function frameOf(h: ImageHeader): Direction {
  const [row, col] = h.imageOrientationPatient;
  const nr = norm(row);
  const nc = norm(col);
  const r: Vec3 = [row[0] / nr, row[1] / nr, row[2] / nr];
  const c: Vec3 = [col[0] / nc, col[1] / nc, col[2] / nc];
  return [r, c, cross(r, c)];
}

/**
 * Sorts images along the slice normal and returns the slice step (mm). Rejects duplicates,
 * gaps (missing slices) and steps that vary by more than `tol` of the median step.
 */
function sortAndSpacing(images: ParsedImage[], normal: Vec3, source: string, tol: number, tolMm: number): number {
  const pos = new Map(images.map((im) => [im, dot(im.header.imagePositionPatient, normal)] as const));
  images.sort((a, b) => pos.get(a)! - pos.get(b)!);
  if (images.length === 1) {
    const h = images[0]!.header;
    return h.spacingBetweenSlices ?? h.sliceThickness ?? 1;
  }
  const steps = images.slice(1).map((im, n) => pos.get(im)! - pos.get(images[n]!)!);
  const sorted = [...steps].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  for (let n = 0; n < steps.length; n++) {
    const step = steps[n]!;
    const a = images[n]!.header.name;
    const b = images[n + 1]!.header.name;
    if (step < 1e-3) throw new NonUniformSpacingError(source, `${a} and ${b} are at the same slice position`);
    if (Math.abs(step - median) <= tol * median + tolMm) continue;
    const ratio = step / median;
    if (ratio > 1.5 && Math.abs(ratio - Math.round(ratio)) < 0.1) throw new MissingSliceError(source, a, b, step, median);
    throw new NonUniformSpacingError(
      source,
      `slice spacing is not uniform: ${step.toFixed(3)} mm between ${a} and ${b}, ` +
        `median ${median.toFixed(3)} mm (tolerance ${(tol * 100).toFixed(1)} % + ${tolMm} mm)`,
    );
  }
  // Positions must also line up along the normal: a shift within the image plane means a
  // sheared stack (gantry tilt), which a Volume's orthogonal frame cannot describe.
  const first = images[0]!.header.imagePositionPatient;
  const [nx, ny, nz] = normal;
  for (const im of images) {
    const p = im.header.imagePositionPatient;
    const along = pos.get(im)! - dot(first, normal);
    const off = Math.hypot(p[0] - first[0] - along * nx, p[1] - first[1] - along * ny, p[2] - first[2] - along * nz);
    if (off > tolMm + tol * Math.abs(along)) {
      throw new NonUniformSpacingError(
        source,
        `${im.header.name} is shifted ${off.toFixed(3)} mm within the image plane (gantry tilt or sheared stack), not supported`,
      );
    }
  }
  return steps.reduce((s, x) => s + x, 0) / steps.length;
}

/**
 * Reads the images of ONE series into a Volume.
 *
 * Slices are ordered by ImagePositionPatient projected on the slice normal (row × column
 * direction), never by file name or InstanceNumber. Stored values are mapped through
 * RescaleSlope/RescaleIntercept. The volume's frame is [row direction, column direction,
 * normal], origin at the first slice's ImagePositionPatient.
 *
 * Each file is checked by {@link parseImage} (which lists what it refuses); the series then
 * must not repeat a SOPInstanceUID.
 *
 * Throws (all DicomError): CorruptFileError, TruncatedFileError, NotAnImageError,
 * UnsupportedEncodingError, DecoderNotLoadedError, MissingAttributeError, InvalidAttributeError, MixedSeriesError,
 * DuplicateInstanceError, InconsistentSeriesError, MissingSliceError, NonUniformSpacingError.
 */
export function readSeries(inputs: readonly DicomInput[], opts: ReadSeriesOptions = {}): SeriesVolume {
  if (inputs.length === 0) throw new DicomError('(no files)', 'no DICOM files were given');
  const images = inputs.map((input) => parseImage(input, opts.decoders));
  checkSameSeries(images, inputs);
  const first0 = images[0]!.header;
  const source = seriesLabel(inputs, first0.seriesInstanceUID);
  checkUniqueInstances(images, source);
  checkConsistent(images, source, opts.orientationTolerance ?? 1e-4);
  const direction = frameOf(first0);
  const step = sortAndSpacing(images, direction[2], source, opts.spacingTolerance ?? 0.01, opts.spacingToleranceMm ?? 0.1);

  const first = images[0]!.header;
  const { rows, columns } = first;
  const plane = rows * columns;
  const raw = images.map((im) => im.readPixels());
  // Int16 holds the result exactly when every rescale is integral and the range fits.
  let lo = Infinity;
  let hi = -Infinity;
  let integral = true;
  for (let n = 0; n < images.length; n++) {
    const { rescaleSlope: m, rescaleIntercept: b } = images[n]!.header;
    if (!Number.isInteger(m) || !Number.isInteger(b)) integral = false;
    for (const x of raw[n]!) {
      const y = x * m + b;
      if (y < lo) lo = y;
      if (y > hi) hi = y;
    }
  }
  const asInt16 = integral && lo >= -32768 && hi <= 32767;
  const data = asInt16 ? new Int16Array(plane * images.length) : new Float32Array(plane * images.length);
  for (let n = 0; n < images.length; n++) {
    const { rescaleSlope: m, rescaleIntercept: b } = images[n]!.header;
    const src = raw[n]!;
    const off = n * plane;
    if (m === 1 && b === 0) data.set(src, off);
    else for (let p = 0; p < plane; p++) data[off + p] = src[p]! * m + b;
  }
  const volume = createVolume({
    data,
    dims: [columns, rows, images.length],
    // PixelSpacing is (row spacing, column spacing): i runs along a row, so its step is the column spacing.
    spacing: [first.pixelSpacing[1], first.pixelSpacing[0], step],
    origin: first.imagePositionPatient,
    direction,
    modality: first.modality,
  });
  return {
    volume,
    studyInstanceUID: first.studyInstanceUID,
    seriesInstanceUID: first.seriesInstanceUID,
    frameOfReferenceUID: first.frameOfReferenceUID,
    modality: first.modality,
    seriesDescription: first.seriesDescription,
    studyDescription: first.studyDescription,
    patientName: first.patientName,
    patientID: first.patientID,
    study: first.study,
    sopInstanceUIDs: images.map((im) => im.header.sopInstanceUID),
    sources: images.map((im) => im.header.name),
    transferSyntaxUIDs: [...new Set(images.map((im) => im.header.transferSyntaxUID))],
  };
}
