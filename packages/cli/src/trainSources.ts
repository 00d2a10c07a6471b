import { seriesUid } from '@tomosort/pacs';
import type { PacsClient, SeriesUid, StudyUid } from '@tomosort/pacs';
import { craniumSource, pacsSources, phantomSources } from '@tomosort/pretext';
import type { VolumeSource } from '@tomosort/pretext';
import { folderSources } from '@tomosort/pretext/node';
import { COLIN27_SAMPLE, loadColin27 } from '@tomosort/samples';
import { userPath } from './env';
import { UsageError } from './errors';

/**
 * Parses a `--source` value into training volumes:
 *   sample:phantom[:N]         N phantom subjects (default 8), --seed picks the cohort
 *   sample:cranium             the sample head CT
 *   sample:colin27[:better]    the sample brain MR (1 mm, or 0.5 mm)
 *   pacs:UID[,UID…]            series in the PACS, by SeriesInstanceUID
 *   pacs:*                     every CT/MR series in the PACS
 *   a folder or file           DICOM series and NIfTI files found there
 */
/** `sample:phantom[:N]`: the phantom cohort (N subjects). */
const PHANTOM_SPEC = /^sample:phantom(?::(\d+))?$/;

/** Whether a training source is the phantom cohort (whose subjects share an anatomical frame). */
export const isPhantomSpec = (spec: string): boolean => PHANTOM_SPEC.test(spec);

/**
 * One volume of a source, as plain JSON: what a job on another machine needs to load it itself
 * (a PACS series by UID, a phantom subject, a sample). Folders have none: their files live here.
 */
export type SourceRef =
  | { readonly kind: 'pacs'; readonly studyUid: string; readonly seriesUid: string }
  | { readonly kind: 'phantom'; readonly index: number; readonly seed: number }
  | { readonly kind: 'sample'; readonly spec: string };

/** The volumes of a `--source` as references, or undefined for a folder or file source. */
export async function sourceRefs(spec: string, opts: { seed: number; pacs: () => PacsClient }): Promise<SourceRef[] | undefined> {
  const phantom = PHANTOM_SPEC.exec(spec);
  if (phantom) {
    const n = phantom[1] === undefined ? 8 : Number(phantom[1]);
    if (n < 1) throw new UsageError(`sample:phantom needs at least 1 subject, got ${n}`);
    return Array.from({ length: n }, (_, index) => ({ kind: 'phantom', index, seed: opts.seed }));
  }
  if (spec === 'sample:cranium' || spec === COLIN27_SAMPLE.ch2 || spec === COLIN27_SAMPLE.ch2better) return [{ kind: 'sample', spec }];
  if (spec.startsWith('pacs:')) {
    const client = opts.pacs();
    const wanted = spec.slice(5);
    const all: { studyUid: StudyUid; seriesUid: SeriesUid; modality: string }[] = [];
    for (const study of await client.searchStudies()) {
      for (const s of await client.searchSeries(study.studyInstanceUID)) {
        all.push({ studyUid: study.studyInstanceUID, seriesUid: s.seriesInstanceUID, modality: s.modality ?? '' });
      }
    }
    const picked =
      wanted === '*'
        ? all.filter((s) => s.modality === 'CT' || s.modality === 'MR')
        : wanted.split(',').map((uid) => {
            const hit = all.find((s) => s.seriesUid === seriesUid(uid));
            if (!hit) throw new UsageError(`series ${uid} is not in the PACS (see \`pnpm tomosort ls\`)`);
            return hit;
          });
    if (picked.length === 0) throw new UsageError('the PACS holds no CT or MR series to train on');
    return picked.map((s) => ({ kind: 'pacs', studyUid: s.studyUid, seriesUid: s.seriesUid }));
  }
  if (spec.startsWith('sample:')) throw new UsageError(`unknown sample "${spec}"; known: sample:phantom[:N], sample:cranium, sample:colin27, sample:colin27:better`);
  return undefined;
}

/** The volume a reference names, loaded on this machine. */
export function refSource(ref: SourceRef, pacs: () => PacsClient): VolumeSource {
  switch (ref.kind) {
    case 'phantom':
      return phantomSources({ subjects: 1, first: ref.index, seed: ref.seed })[0]!;
    case 'pacs':
      return pacsSources(pacs, [{ studyUid: ref.studyUid as StudyUid, seriesUid: ref.seriesUid as SeriesUid }])[0]!;
    case 'sample':
      if (ref.spec === 'sample:cranium') return craniumSource();
      if (ref.spec === COLIN27_SAMPLE.ch2 || ref.spec === COLIN27_SAMPLE.ch2better) {
        const image = ref.spec === COLIN27_SAMPLE.ch2 ? 'ch2' : 'ch2better';
        return { id: ref.spec, load: async () => (await loadColin27({ image })).volume };
      }
      throw new UsageError(`unknown sample "${ref.spec}"`);
  }
}

export async function parseTrainSources(spec: string, opts: { seed: number; pacs: () => PacsClient; warn: (m: string) => void }): Promise<VolumeSource[]> {
  const refs = await sourceRefs(spec, opts);
  if (refs) {
    let client: PacsClient | undefined;
    return refs.map((r) => refSource(r, () => (client ??= opts.pacs())));
  }
  return folderSources(userPath(spec), opts.warn);
}
