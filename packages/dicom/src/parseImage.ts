import dicomParser from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import type { Vec3 } from '@tomosort/volume';
import {
  CorruptFileError,
  MissingAttributeError,
  NotAnImageError,
  TruncatedFileError,
  UnsupportedEncodingError,
} from './errors';
import { decodeEncapsulatedPixels, inflateDataset, isEncapsulatedSyntax } from './decode';
import type { PixelDecoders } from './decode';
import { NON_VOLUME_SOP_CLASSES, TAG, TRANSFER_SYNTAXES } from './tags';

/** One DICOM Part-10 file (or the bytes of one instance from DICOMweb). `name` is used in errors. */
export interface DicomInput {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** The header fields of one single-frame image that series assembly needs. */
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
  readonly signed: boolean;
  readonly rescaleSlope: number;
  readonly rescaleIntercept: number;
}

/** A parsed image: its header and a reader of its stored (pre-rescale) pixel values. */
export interface ParsedImage {
  readonly header: ImageHeader;
  /** Stored pixel values, row-major, `rows × columns` long. */
  readPixels(): Int16Array | Uint16Array | Uint8Array | Int8Array;
}

const str = (ds: DataSet, tag: string): string => (ds.string(tag) ?? '').trim();

function numbers(ds: DataSet, tag: string, name: string, source: string, count: number): number[] {
  const raw = ds.string(tag);
  if (raw === undefined || raw.trim() === '') throw new MissingAttributeError(source, name);
  const values = raw.split('\\').map((s) => Number(s.trim()));
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

function parseBytes(input: DicomInput): DataSet {
  try {
    return dicomParser.parseDicom(input.bytes, { inflater: inflateDataset });
  } catch (e) {
    // dicom-parser throws strings, Errors, or `{ exception, dataSet }` objects.
    const reason =
      typeof e === 'string' ? e : e instanceof Error ? e.message : String((e as { exception?: unknown }).exception ?? e);
    if (/overrun|past end|truncat/i.test(reason)) throw new TruncatedFileError(input.name, `file is truncated (${reason})`);
    throw new CorruptFileError(input.name, `not a readable DICOM file (${reason})`);
  }
}

/**
 * Parses one single-frame grayscale image and checks what series assembly relies on:
 * geometry attributes present, a decodable transfer syntax, pixel data as long as it must be.
 * Compressed pixel data is decoded by `readPixels` with `decoders` (RLE needs none; the
 * others come from loadPixelDecoders, else readPixels throws DecoderNotLoadedError).
 */
export function parseImage(input: DicomInput, decoders?: PixelDecoders): ParsedImage {
  const ds = parseBytes(input);
  const source = input.name;
  const sopClassUID = str(ds, TAG.SOPClassUID);
  const nonVolume = NON_VOLUME_SOP_CLASSES[sopClassUID];
  if (nonVolume !== undefined) throw new NotAnImageError(source, `is a ${nonVolume} object (${sopClassUID}), not an image`);
  const pixelElement = ds.elements[TAG.PixelData];
  if (pixelElement === undefined) throw new NotAnImageError(source, `has no pixel data (SOP class ${sopClassUID || 'unknown'})`);

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

  const rows = ds.uint16(TAG.Rows);
  const columns = ds.uint16(TAG.Columns);
  if (!rows) throw new MissingAttributeError(source, 'Rows (0028,0010)');
  if (!columns) throw new MissingAttributeError(source, 'Columns (0028,0011)');
  const bitsAllocated = ds.uint16(TAG.BitsAllocated);
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new MissingAttributeError(source, 'BitsAllocated (0028,0100)', `is ${bitsAllocated ?? 'missing'}; 8 or 16 are read`);
  }
  const signed = (ds.uint16(TAG.PixelRepresentation) ?? 0) === 1;
  const seriesInstanceUID = str(ds, TAG.SeriesInstanceUID);
  if (!seriesInstanceUID) throw new MissingAttributeError(source, 'SeriesInstanceUID (0020,000E)');

  const [ps0, ps1] = numbers(ds, TAG.PixelSpacing, 'PixelSpacing (0028,0030)', source, 2) as [number, number];
  const ipp = numbers(ds, TAG.ImagePositionPatient, 'ImagePositionPatient (0020,0032)', source, 3) as [number, number, number];
  const iop = numbers(ds, TAG.ImageOrientationPatient, 'ImageOrientationPatient (0020,0037)', source, 6);

  const bytesPerPixel = bitsAllocated / 8;
  const expected = rows * columns * bytesPerPixel;
  // ds.byteArray: the file as read (for a deflated file, with its data set inflated).
  if (!encapsulated && (pixelElement.length < expected || pixelElement.dataOffset + expected > ds.byteArray.length)) {
    throw new TruncatedFileError(
      source,
      `pixel data holds ${Math.min(pixelElement.length, ds.byteArray.length - pixelElement.dataOffset)} bytes, ` +
        `${rows}×${columns}×${bytesPerPixel} = ${expected} expected (file truncated?)`,
    );
  }
  const header: ImageHeader = {
    name: source,
    transferSyntaxUID,
    sopClassUID,
    sopInstanceUID: str(ds, TAG.SOPInstanceUID),
    studyInstanceUID: str(ds, TAG.StudyInstanceUID),
    seriesInstanceUID,
    frameOfReferenceUID: str(ds, TAG.FrameOfReferenceUID) || undefined,
    modality: str(ds, TAG.Modality) || 'OT',
    seriesDescription: str(ds, TAG.SeriesDescription),
    studyDescription: str(ds, TAG.StudyDescription),
    patientName: str(ds, TAG.PatientName),
    patientID: str(ds, TAG.PatientID),
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
    signed,
    rescaleSlope: optionalNumber(ds, TAG.RescaleSlope) ?? 1,
    rescaleIntercept: optionalNumber(ds, TAG.RescaleIntercept) ?? 0,
  };
  return {
    header,
    readPixels() {
      if (encapsulated) return decodeEncapsulatedPixels(source, ds, pixelElement, transferSyntaxUID, header, decoders);
      // Copy into a fresh, aligned buffer (the element may start at an odd offset).
      const raw = ds.byteArray.slice(pixelElement.dataOffset, pixelElement.dataOffset + expected);
      if (bytesPerPixel === 1) return signed ? new Int8Array(raw.buffer) : raw;
      if (ts.bigEndian) {
        for (let n = 0; n < raw.length; n += 2) {
          const t = raw[n]!;
          raw[n] = raw[n + 1]!;
          raw[n + 1] = t;
        }
      }
      return signed ? new Int16Array(raw.buffer) : new Uint16Array(raw.buffer);
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
