import { loadSeriesVolume } from '@tomosort/pacs';
import type { PacsClient, SeriesUid, StudyUid } from '@tomosort/pacs';
import { loadCranium, phantomSubject } from '@tomosort/samples';
import type { Plane, Volume } from '@tomosort/volume';
import { fitMmPerPixel, prepareVolume } from './prepare';
import type { PrepareOptions, PreparedVolume } from './prepare';

/** Where a training volume comes from; `load` is called once per source and cached. */
export interface VolumeSource {
  readonly id: string;
  load(signal?: AbortSignal): Promise<Volume>;
}

/**
 * The first source's volume, loaded now (for settings fitted to it, such as the mm/pixel scale),
 * and the sources with that volume handed to the first one's next `load` instead of loading it
 * again (a PACS series is fetched once). Later loads of it load anew.
 */
export async function withFirstLoaded(sources: readonly VolumeSource[], signal?: AbortSignal): Promise<{ first: Volume; sources: VolumeSource[] }> {
  const [head, ...rest] = sources;
  if (!head) throw new RangeError('withFirstLoaded: no sources');
  const first = await head.load(signal);
  let kept: Volume | undefined = first;
  const reused: VolumeSource = {
    id: head.id,
    load: async (s) => {
      const v = kept;
      kept = undefined;
      return v ?? head.load(s);
    },
  };
  return { first, sources: [reused, ...rest] };
}

/**
 * The mm/pixel scale fitted to the first source's volume (`fitMmPerPixel`), and the sources with
 * that load handed on ({@link withFirstLoaded}): what `prepare` and `pretrain` do without
 * `--mm-per-pixel`.
 */
export async function fitScaleToFirst(sources: readonly VolumeSource[], plane: Plane | undefined, size: number, signal?: AbortSignal): Promise<{ mmPerPixel: number; sources: VolumeSource[] }> {
  const loaded = await withFirstLoaded(sources, signal);
  return { mmPerPixel: fitMmPerPixel(loaded.first, plane, size), sources: loaded.sources };
}

/** `subjects` phantom subjects (sample:phantom) starting at index `first`. */
export function phantomSources(opts: { subjects: number; seed?: number; first?: number; size?: number }): VolumeSource[] {
  const first = opts.first ?? 0;
  return Array.from({ length: opts.subjects }, (_, n) => {
    const index = first + n;
    return {
      id: `phantom-${String(index).padStart(3, '0')}@${opts.seed ?? 0}`,
      load: async () => phantomSubject(index, opts.seed ?? 0, opts.size === undefined ? {} : { size: opts.size }).volume,
    };
  });
}

/** sample:cranium, the Debian head CT. */
export const craniumSource = (): VolumeSource => ({ id: 'sample:cranium', load: async () => (await loadCranium()).volume });

/** Series in a PACS, read through DICOMweb; the client is asked for only when a series loads. */
export function pacsSources(client: () => PacsClient, series: readonly { studyUid: StudyUid; seriesUid: SeriesUid }[]): VolumeSource[] {
  return series.map((s) => ({
    id: `pacs:${s.seriesUid}`,
    load: async (signal) => (await loadSeriesVolume(client(), s.studyUid, s.seriesUid, signal ? { signal } : {})).volume,
  }));
}

/**
 * Loads and prepares every source, `concurrency` at a time (network loads overlap), reporting
 * progress. Prepared volumes are what batch builders draw from; keep them for the whole run.
 */
export async function loadPrepared(
  sources: readonly VolumeSource[],
  opts: PrepareOptions & { concurrency?: number; onProgress?: (done: number, total: number) => void; signal?: AbortSignal },
): Promise<PreparedVolume[]> {
  const out: PreparedVolume[] = new Array(sources.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < sources.length) {
      const n = next++;
      const s = sources[n]!;
      opts.signal?.throwIfAborted();
      out[n] = prepareVolume(s.id, await s.load(opts.signal), opts);
      opts.onProgress?.(++done, sources.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 4, sources.length) }, worker));
  return out;
}
