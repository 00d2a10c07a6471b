import { sopInstanceUidOf } from '@tomosort/dicom';
import type { PacsClient } from './client';
import { PacsResponseError } from './errors';
import { mapConcurrent } from './pool';
import type { SeriesUid, SopInstanceUid, StudyUid } from './uids';

/** One downloaded instance of a series. `name` is `${seriesUid}/${sopInstanceUID}` so errors can name it. */
export interface SeriesInstanceFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly sopInstanceUID: SopInstanceUid;
  readonly instanceNumber: number | undefined;
}

/** Options of {@link fetchSeriesFiles} and loadSeriesVolume. */
export interface FetchSeriesOptions {
  /**
   * `'series'` (default): one WADO-RS request for the whole series. `'instances'`: one request
   * per instance, `concurrency` at a time — for servers that refuse series-level retrieval.
   */
  readonly mode?: 'series' | 'instances';
  /** Instance downloads in flight at once in `'instances'` mode. Default 6 (a browser's per-host connection limit). */
  readonly concurrency?: number;
  /** Called after each download with (done, total); total is known after the QIDO search. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Aborts the search and every download. */
  readonly signal?: AbortSignal;
}

/** Default of {@link FetchSeriesOptions.concurrency}. */
export const DEFAULT_SERIES_CONCURRENCY = 6;

/**
 * Lists a series' instances (QIDO-RS) and downloads the Part-10 files (WADO-RS): in one
 * series-level request by default, else one per instance with bounded concurrency. Files come back ordered by InstanceNumber (then SOP UID); geometric order is the
 * reader's job. A failed download aborts the rest and rejects with its error.
 */
export async function fetchSeriesFiles(
  client: PacsClient,
  studyUid: StudyUid,
  seriesUid: SeriesUid,
  opts: FetchSeriesOptions = {},
): Promise<SeriesInstanceFile[]> {
  const signal = opts.signal;
  const instances = await client.searchInstances(studyUid, seriesUid, undefined, signal ? { signal } : undefined);
  const sorted = [...instances].sort(
    (a, b) =>
      (a.instanceNumber ?? Number.MAX_SAFE_INTEGER) - (b.instanceNumber ?? Number.MAX_SAFE_INTEGER) ||
      (a.sopInstanceUID < b.sopInstanceUID ? -1 : a.sopInstanceUID > b.sopInstanceUID ? 1 : 0),
  );
  let done = 0;
  opts.onProgress?.(0, sorted.length);
  if ((opts.mode ?? 'series') === 'series') {
    const parts = await client.retrieveSeries(studyUid, seriesUid, signal ? { signal } : undefined);
    const bySop = new Map(parts.map((bytes) => [sopInstanceUidOf(bytes), bytes] as const));
    const files = sorted.map((inst) => {
      const bytes = bySop.get(inst.sopInstanceUID);
      if (bytes === undefined) {
        throw new PacsResponseError('GET', `series ${seriesUid}`, `instance ${inst.sopInstanceUID} listed by QIDO is missing from the series retrieval`);
      }
      return { name: `${seriesUid}/${inst.sopInstanceUID}`, bytes, sopInstanceUID: inst.sopInstanceUID, instanceNumber: inst.instanceNumber };
    });
    opts.onProgress?.(files.length, files.length);
    return files;
  }
  return mapConcurrent(
    sorted,
    opts.concurrency ?? DEFAULT_SERIES_CONCURRENCY,
    async (inst, _i, s) => {
      const bytes = await client.retrieveInstance(studyUid, seriesUid, inst.sopInstanceUID, { signal: s });
      opts.onProgress?.(++done, sorted.length);
      return {
        name: `${seriesUid}/${inst.sopInstanceUID}`,
        bytes,
        sopInstanceUID: inst.sopInstanceUID,
        instanceNumber: inst.instanceNumber,
      };
    },
    signal,
  );
}
