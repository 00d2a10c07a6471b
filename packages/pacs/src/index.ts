export type { CallOptions, QidoQuery, RetrievedFrame, UploadManyOptions } from './client';
export { PacsClient } from './client';
export type { DicomJsonDataset, DicomJsonElement, DicomJsonPersonName } from './dicom-json';
export { TAG, isDicomJsonDataset, items, num, str, strs, values } from './dicom-json';
export type { OrthancErrorBody, PacsRequestInfo, StowFailure } from './errors';
export {
  PacsArgumentError,
  PacsConfigError,
  PacsConnectionError,
  PacsError,
  PacsHttpError,
  PacsResponseError,
  PacsTruncatedError,
  PacsStowError,
  PacsTimeoutError,
  isPacsConnectionError,
  isPacsError,
  isPacsHttpError,
  isPacsStowError,
  isPacsTimeoutError,
} from './errors';
export type { RetryPolicy } from './http';
export type { LoadSeriesVolumeOptions } from './load-series-volume';
export { loadSeriesVolume } from './load-series-volume';
export type { MultipartPart } from './multipart';
export { buildMultipart, parseMultipart } from './multipart';
export type { PacsAuth, PacsClientOptions, PacsEnv } from './options';
export { DEFAULT_PACS_URL, PACS_DEFAULTS, pacsConfigFromEnv } from './options';
export type {
  OrthancCollection,
  OrthancDeleteResult,
  OrthancFindOptions,
  OrthancLevel,
  OrthancResource,
  OrthancSystem,
  OrthancUploadResult,
} from './orthanc-types';
export type { FetchSeriesOptions, SeriesInstanceFile } from './series-files';
export { DEFAULT_SERIES_CONCURRENCY, fetchSeriesFiles } from './series-files';
export type { StowResult, StowStored } from './stow';
export type { InstanceSummary, SeriesSummary, StudySummary } from './summaries';
export type { OrthancId, SeriesUid, SopInstanceUid, StudyUid } from './uids';
export { orthancId, seriesUid, sopInstanceUid, studyUid } from './uids';
export { redactUrl } from './url';
