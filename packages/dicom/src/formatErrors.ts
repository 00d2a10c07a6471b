/**
 * Base class of the errors thrown while reading non-DICOM volume files (NIfTI, InVesalius .inv3).
 * `file` is the name the caller gave for the bytes; every message starts with it.
 */
export class FormatError extends Error {
  override readonly name: string = 'FormatError';
  constructor(
    readonly file: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${detail}`, options);
  }
}

/** A .nii / .nii.gz file is not NIfTI-1, is truncated, or holds data this reader does not support. */
export class NiftiError extends FormatError {
  override readonly name = 'NiftiError';
}

/** An InVesalius 3 project (.inv3) is not a gzip'd tar, lacks a part, or has inconsistent sizes. */
export class Inv3Error extends FormatError {
  override readonly name = 'Inv3Error';
}

export const isFormatError = (e: unknown): e is FormatError => e instanceof FormatError;
