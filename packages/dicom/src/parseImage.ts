import dicomParser from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import type { Vec3 } from '@tomosort/volume';
import {
  CorruptFileError,
  DicomError,
  InvalidAttributeError,
  MissingAttributeError,
  NotAnImageError,
  TruncatedFileError,
  UnsupportedEncodingError,
} from './errors';
import { decodeEncapsulatedPixels, inflateDataset, isEncapsulatedSyntax } from './decode';
import type { PixelDecoders } from './decode';
import { MAX_POSITION_MM, MAX_SPACING_MM } from './limits';
import { NON_VOLUME_SOP_CLASSES, TAG, TRANSFER_SYNTAXES } from './tags';

/** One DICOM Part-10 file (or the bytes of one instance from DICOMweb). `name` is used in errors. */
export interface DicomInput {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** The header fields of one single-frame image that series assembly needs. */
/** Study and patient attributes a derived object (a SEG) copies from its source, as stored (empty when absent). */
export interface StudyAttributes {
  readonly studyDate: string;
  readonly studyTime: string;
  readonly studyID: string;
  readonly accessionNumber: string;
  readonly referringPhysicianName: string;
  readonly patientBirthDate: string;
  readonly patientSex: string;
}

export interface ImageHeader {
  readonly name: string;
  readonly transferSyntaxUID: string;
  readonly sopClassUID: string;
  readonly sopInstanceUID: string;
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly frameOfReferenceUID: string | undefined;
  readonly modality: string;
  readonly seriesDescription: string;
  readonly studyDescription: string;
  readonly patientName: string;
  readonly patientID: string;
  readonly study: StudyAttributes;
  readonly instanceNumber: number | undefined;
  readonly rows: number;
  readonly columns: number;
  /** Row spacing then column spacing, as in DICOM PixelSpacing. */
  readonly pixelSpacing: readonly [number, number];
  readonly imagePositionPatient: Vec3;
  /** Row direction (x along columns) then column direction (y along rows). */
  readonly imageOrientationPatient: readonly [Vec3, Vec3];
  readonly sliceThickness: number | undefined;
  readonly spacingBetweenSlices: number | undefined;
  readonly bitsAllocated: 8 | 16;
  /** Significant bits of each stored value (the rest of BitsAllocated is masked off when reading). */
  readonly bitsStored: number;
  /** PixelRepresentation 1: stored values are two's complement in BitsStored bits. */
  readonly signed: boolean;
  /** MONOCHROME1 (inverted when read) or MONOCHROME2. */
  readonly photometricInterpretation: 'MONOCHROME1' | 'MONOCHROME2';
  readonly rescaleSlope: number;
  readonly rescaleIntercept: number;
}

/** A parsed image: its header and a reader of its stored (pre-rescale) pixel values. */
export interface ParsedImage {
  readonly header: ImageHeader;
  /**
   * Stored pixel values (before rescale), row-major, `rows × columns` long: masked to BitsStored
   * bits, sign-extended when signed, inverted within the stored range for MONOCHROME1.
   */
  readPixels(): Int16Array | Uint16Array | Uint8Array | Int8Array;
}

const str = (ds: DataSet, tag: string): string => (ds.string(tag) ?? '').trim();

/** Largest magnitude a Float32 voxel holds; a rescale that can exceed it is refused. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** A DICOM decimal string (DS) or integer string (IS): no hex, no "Infinity", no empty component. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const decimal = (s: string): number => (DECIMAL.test(s.trim()) ? Number(s.trim()) : NaN);

function numbers(ds: DataSet, tag: string, name: string, source: string, count: number): number[] {
  const raw = ds.string(tag);
  if (raw === undefined || raw.trim() === '') throw new MissingAttributeError(source, name);
  const values = raw.split('\\').map(decimal);
  if (values.length !== count || values.some((v) => !Number.isFinite(v))) {
    throw new MissingAttributeError(source, name, `is malformed ("${raw}", expected ${count} numbers)`);
  }
  return values;
}

function optionalNumber(ds: DataSet, tag: string): number | undefined {
  const raw = ds.string(tag);
  if (raw === undefined || raw.trim() === '') return undefined;
  const v = Number(raw.split('\\')[0]);
  return Number.isFinite(v) ? v : undefined;
}

/** RescaleSlope / RescaleIntercept: `fallback` when absent, else a finite decimal string or a refusal. */
function rescaleNumber(ds: DataSet, tag: string, name: string, source: string, fallback: number): number {
  const raw = ds.string(tag);
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = decimal(raw);
  if (!Number.isFinite(v)) throw new InvalidAttributeError(source, name, JSON.stringify(raw), 'must be a finite decimal number');
  return v;
}

/** A US attribute that must be present; `undefined` gives a MissingAttributeError naming it. */
function requiredUint16(ds: DataSet, tag: string, name: string, source: string): number {
  const v = ds.uint16(tag);
  if (v === undefined) throw new MissingAttributeError(source, name);
  return v;
}

function parseBytes(input: DicomInput): DataSet {
  try {
    return dicomParser.parseDicom(input.bytes, { inflater: inflateDataset });
  } catch (e) {
    if (e instanceof DicomError) throw e;
    // dicom-parser throws strings, Errors, or `{ exception, dataSet }` objects.
    const reason =
      typeof e === 'string' ? e : e instanceof Error ? e.message : String((e as { exception?: unknown }).exception ?? e);
    if (/overrun|past end|truncat/i.test(reason)) throw new TruncatedFileError(input.name, `file is truncated (${reason})`);
    throw new CorruptFileError(input.name, `not a readable DICOM file (${reason})`);
  }
}

const fmtVec = (v: readonly number[]): string => `[${v.map((x) => +x.toFixed(6)).join(', ')}]`;

/** Refuses an orientation that is not two orthonormal directions, saying "degenerate" for a zero-length one. */
function checkOrientation(iop: readonly number[], source: string): void {
  const name = 'ImageOrientationPatient (0020,0037)';
  const row = iop.slice(0, 3);
  const col = iop.slice(3, 6);
  const len = (v: readonly number[]) => Math.hypot(v[0]!, v[1]!, v[2]!);
  const [nr, nc] = [len(row), len(col)];
  if (nr < 1e-6 || nc < 1e-6) {
    throw new InvalidAttributeError(source, name, fmtVec(iop), `degenerate: the ${nr < 1e-6 ? 'row' : 'column'} direction has zero length`);
  }
  const d = row[0]! * col[0]! + row[1]! * col[1]! + row[2]! * col[2]!;
  if (Math.abs(nr - 1) > 1e-3 || Math.abs(nc - 1) > 1e-3 || Math.abs(d) > 1e-3) {
    throw new InvalidAttributeError(source, name, fmtVec(iop), 'must be two orthonormal directions');
  }
}

/**
 * Parses one single-frame grayscale image and checks what series assembly relies on. It refuses
 * (a DicomError naming the file and the attribute) what it could not read correctly:
 *
 * - identity: SOPClassUID, SOPInstanceUID, SeriesInstanceUID missing;
 * - encoding: a transfer syntax it does not decode (see `TRANSFER_SYNTAXES`), several frames,
 *   SamplesPerPixel ≠ 1, PhotometricInterpretation other than MONOCHROME1 / MONOCHROME2
 *   (RGB, PALETTE COLOR, YBR_*, missing or empty), BitsAllocated other than 8 / 16,
 *   BitsStored outside 1..BitsAllocated, HighBit ≠ BitsStored − 1, PixelRepresentation ≠ 0 / 1;
 * - size: Rows or Columns 0, pixel data shorter (TruncatedFileError) or longer than
 *   Rows × Columns × BitsAllocated / 8 (one pad byte allowed when that is odd);
 * - geometry: PixelSpacing ≤ 0 or > {@link MAX_SPACING_MM}, ImagePositionPatient beyond
 *   ±{@link MAX_POSITION_MM} mm, ImageOrientationPatient degenerate (a zero direction) or not
 *   orthonormal; non-numeric or non-finite values;
 * - values: RescaleSlope 0, slope or intercept not a finite number, or a pair that maps some
 *   storable value beyond the float32 range (absent slope / intercept mean 1 / 0).
 *
 * Pixels are read as stored values masked to BitsStored bits (garbage above HighBit is dropped),
 * sign-extended from bit BitsStored − 1 when PixelRepresentation is 1. MONOCHROME1 (low values
 * shown bright) is inverted within the stored range, `v' = lo + hi − v` (unsigned: `2^BitsStored − 1 − v`;
 * signed: `−1 − v`), so that, as for MONOCHROME2, a higher value after rescale is brighter.
 * Compressed pixel data is decoded by `readPixels` with `decoders` (RLE and deflate need none;
 * the others come from loadPixelDecoders, else readPixels throws DecoderNotLoadedError).
 */
export function parseImage(input: DicomInput, decoders?: PixelDecoders): ParsedImage {
  const ds = parseBytes(input);
  const source = input.name;
  const sopClassUID = str(ds, TAG.SOPClassUID);
  const nonVolume = NON_VOLUME_SOP_CLASSES[sopClassUID];
  if (nonVolume !== undefined) throw new NotAnImageError(source, `is a ${nonVolume} object (${sopClassUID}), not an image`);
  const pixelElement = ds.elements[TAG.PixelData];
  if (pixelElement === undefined) throw new NotAnImageError(source, `has no pixel data (SOP class ${sopClassUID || 'unknown'})`);
  if (!sopClassUID) throw new MissingAttributeError(source, 'SOPClassUID (0008,0016)');
  const sopInstanceUID = str(ds, TAG.SOPInstanceUID);
  if (!sopInstanceUID) throw new MissingAttributeError(source, 'SOPInstanceUID (0008,0018)');

  const transferSyntaxUID = str(ds, TAG.TransferSyntaxUID) || '1.2.840.10008.1.2';
  const ts = TRANSFER_SYNTAXES[transferSyntaxUID];
  const encapsulated = Boolean(pixelElement.encapsulatedPixelData);
  if (ts === undefined || !ts.decoded || encapsulated !== isEncapsulatedSyntax(transferSyntaxUID)) {
    throw new UnsupportedEncodingError(source, transferSyntaxUID, ts?.name ?? 'unknown');
  }
  const frames = optionalNumber(ds, TAG.NumberOfFrames) ?? 1;
  if (frames !== 1) throw new NotAnImageError(source, `is a multi-frame object (${frames} frames); only single-frame series are read`);
  const samples = ds.uint16(TAG.SamplesPerPixel) ?? 1;
  if (samples !== 1) throw new NotAnImageError(source, `has ${samples} samples per pixel (colour); only grayscale images are read`);
  const photometric = str(ds, TAG.PhotometricInterpretation);
  if (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2') {
    const name = 'PhotometricInterpretation (0028,0004)';
    if (ds.elements[TAG.PhotometricInterpretation] === undefined) throw new MissingAttributeError(source, name);
    throw new InvalidAttributeError(source, name, JSON.stringify(photometric), 'must be MONOCHROME1 or MONOCHROME2: only grayscale images are read');
  }

  const rows = requiredUint16(ds, TAG.Rows, 'Rows (0028,0010)', source);
  const columns = requiredUint16(ds, TAG.Columns, 'Columns (0028,0011)', source);
  if (rows === 0) throw new InvalidAttributeError(source, 'Rows (0028,0010)', '0', 'must be ≥ 1');
  if (columns === 0) throw new InvalidAttributeError(source, 'Columns (0028,0011)', '0', 'must be ≥ 1');
  const bitsAllocated = ds.uint16(TAG.BitsAllocated);
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new MissingAttributeError(source, 'BitsAllocated (0028,0100)', `is ${bitsAllocated ?? 'missing'}; 8 or 16 are read`);
  }
  const bitsStored = ds.uint16(TAG.BitsStored) ?? bitsAllocated;
  if (bitsStored < 1 || bitsStored > bitsAllocated) {
    throw new InvalidAttributeError(source, 'BitsStored (0028,0101)', String(bitsStored), `must be 1..BitsAllocated = ${bitsAllocated}`);
  }
  const highBit = ds.uint16(TAG.HighBit) ?? bitsStored - 1;
  if (highBit !== bitsStored - 1) {
    throw new InvalidAttributeError(source, 'HighBit (0028,0102)', String(highBit), `must be BitsStored − 1 = ${bitsStored - 1}`);
  }
  const pixelRepresentation = ds.uint16(TAG.PixelRepresentation) ?? 0;
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    throw new InvalidAttributeError(source, 'PixelRepresentation (0028,0103)', String(pixelRepresentation), 'must be 0 (unsigned) or 1 (signed)');
  }
  const signed = pixelRepresentation === 1;
  const seriesInstanceUID = str(ds, TAG.SeriesInstanceUID);
  if (!seriesInstanceUID) throw new MissingAttributeError(source, 'SeriesInstanceUID (0020,000E)');

  const spacingName = 'PixelSpacing (0028,0030)';
  const [ps0, ps1] = numbers(ds, TAG.PixelSpacing, spacingName, source, 2) as [number, number];
  if (!(ps0 > 0 && ps1 > 0 && ps0 <= MAX_SPACING_MM && ps1 <= MAX_SPACING_MM)) {
    throw new InvalidAttributeError(source, spacingName, fmtVec([ps0, ps1]), `must be > 0 and ≤ ${MAX_SPACING_MM} mm`);
  }
  const ippName = 'ImagePositionPatient (0020,0032)';
  const ipp = numbers(ds, TAG.ImagePositionPatient, ippName, source, 3) as [number, number, number];
  if (ipp.some((x) => Math.abs(x) > MAX_POSITION_MM)) {
    throw new InvalidAttributeError(source, ippName, `[${ipp.join(', ')}]`, `must lie within ±${MAX_POSITION_MM} mm`);
  }
  const iop = numbers(ds, TAG.ImageOrientationPatient, 'ImageOrientationPatient (0020,0037)', source, 6);
  checkOrientation(iop, source);

  const rescaleSlope = rescaleNumber(ds, TAG.RescaleSlope, 'RescaleSlope (0028,1053)', source, 1);
  const rescaleIntercept = rescaleNumber(ds, TAG.RescaleIntercept, 'RescaleIntercept (0028,1052)', source, 0);
  if (rescaleSlope === 0) throw new InvalidAttributeError(source, 'RescaleSlope (0028,1053)', '0', 'must be non-zero: every voxel would be the intercept');
  const lo = signed ? -(2 ** (bitsStored - 1)) : 0;
  const hi = signed ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1;
  const reach = Math.max(Math.abs(rescaleSlope * lo + rescaleIntercept), Math.abs(rescaleSlope * hi + rescaleIntercept));
  if (!(reach <= FLOAT32_MAX)) {
    const [name, value] =
      Math.abs(rescaleIntercept) > FLOAT32_MAX / 2 ? ['RescaleIntercept (0028,1052)', rescaleIntercept] : ['RescaleSlope (0028,1053)', rescaleSlope];
    throw new InvalidAttributeError(
      source,
      name,
      String(value),
      `stored values ${lo}..${hi} would map beyond the float32 range ±${FLOAT32_MAX.toExponential(2)}`,
    );
  }

  const bytesPerPixel = bitsAllocated / 8;
  const expected = rows * columns * bytesPerPixel;
  // ds.byteArray: the file as read (for a deflated file, with its data set inflated).
  const available = Math.min(pixelElement.length, ds.byteArray.length - pixelElement.dataOffset);
  if (!encapsulated && (pixelElement.length < expected || pixelElement.dataOffset + expected > ds.byteArray.length)) {
    throw new TruncatedFileError(
      source,
      `pixel data holds ${available} bytes, ${rows}×${columns}×${bytesPerPixel} = ${expected} expected (file truncated?)`,
    );
  }
  // A value of odd length is padded to even with one byte (PS3.5 §7.1.1).
  if (!encapsulated && pixelElement.length > expected + (expected % 2)) {
    throw new InvalidAttributeError(
      source,
      'PixelData (7FE0,0010)',
      `${pixelElement.length} bytes`,
      `must be Rows × Columns × BitsAllocated/8 = ${rows}×${columns}×${bytesPerPixel} = ${expected} bytes`,
    );
  }
  const header: ImageHeader = {
    name: source,
    transferSyntaxUID,
    sopClassUID,
    sopInstanceUID,
    studyInstanceUID: str(ds, TAG.StudyInstanceUID),
    seriesInstanceUID,
    frameOfReferenceUID: str(ds, TAG.FrameOfReferenceUID) || undefined,
    modality: str(ds, TAG.Modality) || 'OT',
    seriesDescription: str(ds, TAG.SeriesDescription),
    studyDescription: str(ds, TAG.StudyDescription),
    patientName: str(ds, TAG.PatientName),
    patientID: str(ds, TAG.PatientID),
    study: {
      studyDate: str(ds, TAG.StudyDate),
      studyTime: str(ds, TAG.StudyTime),
      studyID: str(ds, TAG.StudyID),
      accessionNumber: str(ds, TAG.AccessionNumber),
      referringPhysicianName: str(ds, TAG.ReferringPhysicianName),
      patientBirthDate: str(ds, TAG.PatientBirthDate),
      patientSex: str(ds, TAG.PatientSex),
    },
    instanceNumber: optionalNumber(ds, TAG.InstanceNumber),
    rows,
    columns,
    pixelSpacing: [ps0, ps1],
    imagePositionPatient: ipp,
    imageOrientationPatient: [
      [iop[0]!, iop[1]!, iop[2]!],
      [iop[3]!, iop[4]!, iop[5]!],
    ],
    sliceThickness: optionalNumber(ds, TAG.SliceThickness),
    spacingBetweenSlices: optionalNumber(ds, TAG.SpacingBetweenSlices),
    bitsAllocated,
    bitsStored,
    signed,
    photometricInterpretation: photometric,
    rescaleSlope,
    rescaleIntercept,
  };
  return {
    header,
    readPixels() {
      let raw: Uint8Array;
      if (encapsulated) {
        // Decoded frames hold the stored bit patterns too: masked, sign-extended and inverted below.
        const decoded = decodeEncapsulatedPixels(source, ds, pixelElement, transferSyntaxUID, header, decoders);
        raw = new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
      } else {
        // Copy into a fresh, aligned buffer (the element may start at an odd offset).
        raw = ds.byteArray.slice(pixelElement.dataOffset, pixelElement.dataOffset + expected);
      }
      if (!encapsulated && bytesPerPixel === 2 && ts.bigEndian) {
        for (let n = 0; n < raw.length; n += 2) {
          const t = raw[n]!;
          raw[n] = raw[n + 1]!;
          raw[n + 1] = t;
        }
      }
      const stored = bytesPerPixel === 1 ? raw : new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
      const invert = photometric === 'MONOCHROME1';
      if (bitsStored === bitsAllocated && !invert) {
        if (!signed) return stored;
        return bytesPerPixel === 1 ? new Int8Array(raw.buffer, raw.byteOffset, raw.length) : new Int16Array(raw.buffer, raw.byteOffset, raw.length / 2);
      }
      const n = stored.length;
      if (!signed) {
        // In place: mask to BitsStored bits, then invert within 0..2^BitsStored − 1.
        const mask = 2 ** bitsStored - 1;
        for (let p = 0; p < n; p++) {
          const v = stored[p]! & mask;
          stored[p] = invert ? mask - v : v;
        }
        return stored;
      }
      // Sign-extend from bit BitsStored − 1, then invert within −2^(BitsStored−1)..2^(BitsStored−1) − 1.
      const out = bytesPerPixel === 1 ? new Int8Array(n) : new Int16Array(n);
      const shift = 32 - bitsStored;
      for (let p = 0; p < n; p++) {
        const v = (stored[p]! << shift) >> shift;
        out[p] = invert ? -1 - v : v;
      }
      return out;
    },
  };
}

/** SOPInstanceUID of a Part-10 file, parsing only up to that tag (cheap); '' when absent. */
export function sopInstanceUidOf(bytes: Uint8Array): string {
  try {
    return (dicomParser.parseDicom(bytes, { untilTag: TAG.SOPInstanceUID, inflater: inflateDataset }).string(TAG.SOPInstanceUID) ?? '').trim();
  } catch {
    return '';
  }
}
