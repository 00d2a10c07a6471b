/**
 * Errors of DICOM series reading and writing. Every message starts with what it is about
 * (a file name or a series UID) and says what is wrong, so a user can act on it.
 */

/** Base class of DICOM errors. `source` names the file or series concerned. */
export class DicomError extends Error {
  override readonly name: string = 'DicomError';
  constructor(
    readonly source: string,
    readonly reason: string,
  ) {
    super(`${source}: ${reason}`);
  }
}

/** The bytes are not a parseable DICOM file (truncated, corrupt, or not DICOM at all). */
export class CorruptFileError extends DicomError {
  override readonly name = 'CorruptFileError';
}

/** The file ends before its pixel data does. */
export class TruncatedFileError extends DicomError {
  override readonly name = 'TruncatedFileError';
}

/** A valid DICOM object that holds no image (SR, SEG, RT structure set, presentation state…). */
export class NotAnImageError extends DicomError {
  override readonly name = 'NotAnImageError';
}

/** A required attribute is missing or malformed. */
export class MissingAttributeError extends DicomError {
  override readonly name = 'MissingAttributeError';
  constructor(
    source: string,
    readonly attribute: string,
    detail = 'is missing',
  ) {
    super(source, `${attribute} ${detail}`);
  }
}

/**
 * An attribute is present but holds a value this reader refuses: out of range (Rows 0,
 * RescaleSlope 0), not a number, or a valid value it cannot read correctly (PhotometricInterpretation
 * RGB). `got` is the value as found, `expected` says what would be accepted.
 */
export class InvalidAttributeError extends DicomError {
  override readonly name = 'InvalidAttributeError';
  constructor(
    source: string,
    readonly attribute: string,
    readonly got: string,
    readonly expected: string,
  ) {
    super(source, `${attribute} is ${got} (${expected})`);
  }
}

/** Two files of one series carry the same SOPInstanceUID (a PACS would keep only one of them). */
export class DuplicateInstanceError extends DicomError {
  override readonly name = 'DuplicateInstanceError';
  constructor(
    source: string,
    readonly sopInstanceUID: string,
    readonly first: string,
    readonly second: string,
  ) {
    super(source, `${first} and ${second} have the same SOPInstanceUID (0008,0018) ${sopInstanceUID}`);
  }
}

/** A transfer syntax (encoding) this reader does not decode. */
export class UnsupportedEncodingError extends DicomError {
  override readonly name = 'UnsupportedEncodingError';
  constructor(
    source: string,
    readonly transferSyntaxUID: string,
    readonly transferSyntaxName: string,
  ) {
    super(source, `transfer syntax ${transferSyntaxName} (${transferSyntaxUID}) is not supported; supported: ${SUPPORTED_ENCODINGS_TEXT}`);
  }
}

/**
 * A compressed transfer syntax whose decoder was not loaded: the synchronous readers decode
 * RLE (and uncompressed or deflated files) themselves, the others need `readSeriesAsync` (or
 * decoders from `loadPixelDecoders` passed in).
 */
export class DecoderNotLoadedError extends DicomError {
  override readonly name = 'DecoderNotLoadedError';
  constructor(
    source: string,
    readonly transferSyntaxUID: string,
    readonly transferSyntaxName: string,
  ) {
    super(source, `transfer syntax ${transferSyntaxName} (${transferSyntaxUID}) needs its decoder loaded first: read with readSeriesAsync`);
  }
}

/** The inputs belong to more than one series. */
export class MixedSeriesError extends DicomError {
  override readonly name = 'MixedSeriesError';
  constructor(
    source: string,
    readonly seriesCounts: Readonly<Record<string, number>>,
  ) {
    super(
      source,
      `files belong to ${Object.keys(seriesCounts).length} series (${Object.entries(seriesCounts)
        .map(([uid, n]) => `${uid}: ${n} files`)
        .join('; ')}); import one series at a time`,
    );
  }
}

/** Images of one series disagree on an attribute that must be shared (rows, columns, orientation…). */
export class InconsistentSeriesError extends DicomError {
  override readonly name = 'InconsistentSeriesError';
  constructor(
    source: string,
    readonly attribute: string,
    readonly expected: string,
    readonly got: string,
    readonly file: string,
  ) {
    super(source, `${attribute} differs inside the series: ${file} has ${got}, the first image has ${expected}`);
  }
}

/** Slice positions leave a gap of one or more missing slices. */
export class MissingSliceError extends DicomError {
  override readonly name = 'MissingSliceError';
  constructor(
    source: string,
    readonly after: string,
    readonly before: string,
    readonly gapMm: number,
    readonly spacingMm: number,
  ) {
    const missing = Math.round(gapMm / spacingMm) - 1;
    super(
      source,
      `${missing} slice${missing === 1 ? '' : 's'} missing between ${after} and ${before} ` +
        `(gap ${gapMm.toFixed(3)} mm, slice spacing ${spacingMm.toFixed(3)} mm)`,
    );
  }
}

/** Slice spacing varies beyond the tolerance, or two images share a position. */
export class NonUniformSpacingError extends DicomError {
  override readonly name = 'NonUniformSpacingError';
}

export const isDicomError = (e: unknown): e is DicomError => e instanceof DicomError;

/** Human-readable list of the transfer syntaxes readSeries decodes. */
export const SUPPORTED_ENCODINGS_TEXT =
  'implicit VR little endian, explicit VR little endian, explicit VR big endian, deflated explicit VR little endian, ' +
  'RLE lossless, JPEG baseline and extended (8-bit), JPEG lossless, JPEG-LS, JPEG 2000';
