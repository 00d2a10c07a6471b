import { readSeriesAsync } from '@tomosort/dicom';
import type { ReadSeriesOptions, SeriesVolume } from '@tomosort/dicom';
import type { PacsClient } from './client';
import type { FetchSeriesOptions } from './series-files';
import { fetchSeriesFiles } from './series-files';
import type { SeriesUid, StudyUid } from './uids';

/** Options of {@link loadSeriesVolume}: download options plus the reader's tolerances. */
export interface LoadSeriesVolumeOptions extends FetchSeriesOptions {
  readonly read?: ReadSeriesOptions;
}

/**
 * Downloads a series from the PACS ({@link fetchSeriesFiles}: QIDO-RS, then WADO-RS per instance,
 * `concurrency` default 6) and assembles it with `readSeriesAsync` from @tomosort/dicom (WADO-RS with
 * `transfer-syntax=*` returns the stored files unchanged, so compressed ones are decoded here). Input names are
 * `${seriesUid}/${sopInstanceUID}`, so reader errors name the instance. Throws Pacs* errors for
 * transport problems and @tomosort/dicom's DicomError subclasses for content problems.
 */
export async function loadSeriesVolume(
  client: PacsClient,
  studyUid: StudyUid,
  seriesUid: SeriesUid,
  opts: LoadSeriesVolumeOptions = {},
): Promise<SeriesVolume> {
  const files = await fetchSeriesFiles(client, studyUid, seriesUid, opts);
  return readSeriesAsync(files, opts.read);
}
