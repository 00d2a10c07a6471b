export {
  CorruptFileError,
  DecoderNotLoadedError,
  DicomError,
  DuplicateInstanceError,
  InconsistentSeriesError,
  InvalidAttributeError,
  MissingAttributeError,
  MissingSliceError,
  MixedSeriesError,
  NonUniformSpacingError,
  NotAnImageError,
  SUPPORTED_ENCODINGS_TEXT,
  TruncatedFileError,
  UnsupportedEncodingError,
  isDicomError,
} from './errors';
export type { DicomInput, ImageHeader, ParsedImage, StudyAttributes } from './parseImage';
export { parseImage, sopInstanceUidOf } from './parseImage';
export type { ReadSeriesOptions, SeriesVolume } from './readSeries';
export { readSeries } from './readSeries';
export { readSeriesAsync } from './readSeriesAsync';
export type { CodecName, FrameDecoder, FrameLayout, PixelDecoders } from './decode';
export { ENCAPSULATED_SYNTAXES, loadPixelDecoders } from './decode';
export type { SeriesMetadata, WrittenSeries } from './writeSeries';
export { writeSeries } from './writeSeries';
export { newUid } from './uid';
export { MAX_POSITION_MM, MAX_SPACING_MM } from './limits';
export { SOP_CLASS, TAG, TRANSFER_SYNTAXES } from './tags';
export { FormatError, Inv3Error, NiftiError, isFormatError } from './formatErrors';
export type { ReadNiftiOptions } from './nifti';
export { readNifti } from './nifti';
export type { WriteNiftiOptions } from './writeNifti';
export { writeNifti } from './writeNifti';
export type { Inv3Mask, Inv3Project, Inv3Window } from './inv3';
export { INV3_ORIENTATIONS, readInv3 } from './inv3';
export type { ReadSegmentation, SegmentInfo, WriteSegmentationOptions, WrittenSegmentation } from './seg';
export { SEGMENTATION_STORAGE, readSegmentation, writeSegmentation } from './seg';
