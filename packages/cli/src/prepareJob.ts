import { isDicomError, isFormatError } from '@tomosort/dicom';
import { isPacsHttpError } from '@tomosort/pacs';
import type { PacsClient } from '@tomosort/pacs';
import { isPretextError, prepareVolume } from '@tomosort/pretext';
import type { VolumeSource } from '@tomosort/pretext';
import { hasShard, shardKey, writeShard } from '@tomosort/pretext/node';
import type { ShardParams } from '@tomosort/pretext/node';
import { PermanentJobFailure } from '@tomosort/queue';
import { isVolumeError } from '@tomosort/volume';
import { refSource } from './trainSources';
import type { SourceRef } from './trainSources';

/** A prepare job: which volume, how, and where the store is (a path every worker sees: shared storage). */
export interface PrepareJobData {
  readonly source: SourceRef;
  readonly params: ShardParams;
  readonly store: string;
}

/** What preparing one volume did. */
export interface PrepareResult {
  readonly sourceId: string;
  readonly key: string;
  /** False: the shard was there already (another run, another worker). */
  readonly written: boolean;
  readonly slices: number;
  readonly seconds: number;
}

/** The source id a reference's shard is named by: the id of the source it loads as (no PACS is contacted). */
export const refId = (ref: SourceRef): string =>
  refSource(ref, () => {
    throw new Error('refId: a source id needs no PACS');
  }).id;

/** The queue's job id for preparing `sourceId` with `params`: the shard's key, so one job per shard. */
export const prepareJobId = (sourceId: string, params: ShardParams): string => `prepare-${shardKey(sourceId, params)}`;

/**
 * Whether an error says this input can never be prepared (a series the readers refuse, a
 * volume too thin, a series the PACS does not have): retrying it would only fail again.
 */
export const isInputError = (e: unknown): boolean =>
  isDicomError(e) || isFormatError(e) || isVolumeError(e) || isPretextError(e) || (isPacsHttpError(e) && e.status >= 400 && e.status < 500);

/** A failure's message as reported for one source: led by the source's id (readers' messages often are already). */
export function failureFor(sourceId: string, e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.startsWith(sourceId) ? message : `${sourceId}: ${message}`;
}

/** Loads, prepares and stores one volume; a shard already in the store is not loaded again. */
export async function prepareShard(source: VolumeSource, params: ShardParams, store: string, signal?: AbortSignal): Promise<PrepareResult> {
  const started = performance.now();
  const key = shardKey(source.id, params);
  if (hasShard(store, key)) return { sourceId: source.id, key, written: false, slices: 0, seconds: 0 };
  const volume = await source.load(signal);
  signal?.throwIfAborted();
  const prepared = prepareVolume(source.id, volume, params);
  const { written } = writeShard(store, source.id, params, prepared);
  return { sourceId: source.id, key, written, slices: prepared.slices, seconds: (performance.now() - started) / 1000 };
}

/** The worker's handler: input errors fail the job for good, with the reader's message. */
export async function runPrepareJob(data: PrepareJobData, pacs: () => PacsClient, signal?: AbortSignal): Promise<PrepareResult> {
  const source = refSource(data.source, pacs);
  try {
    return await prepareShard(source, data.params, data.store, signal);
  } catch (e) {
    if (isInputError(e)) throw new PermanentJobFailure(failureFor(source.id, e));
    throw e;
  }
}
