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

export async function parseTrainSources(spec: string, opts: { seed: number; pacs: () => PacsClient; warn: (m: string) => void }): Promise<VolumeSource[]> {
  const phantom = PHANTOM_SPEC.exec(spec);
  if (phantom) {
    const n = phantom[1] === undefined ? 8 : Number(phantom[1]);
    if (n < 1) throw new UsageError(`sample:phantom needs at least 1 subject, got ${n}`);
    return phantomSources({ subjects: n, seed: opts.seed });
  }
  if (spec === 'sample:cranium') return [craniumSource()];
  if (spec === COLIN27_SAMPLE.ch2 || spec === COLIN27_SAMPLE.ch2better) {
    const image = spec === COLIN27_SAMPLE.ch2 ? 'ch2' : 'ch2better';
    return [{ id: spec, load: async () => (await loadColin27({ image })).volume }];
  }
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
    return pacsSources(client, picked);
  }
  if (spec.startsWith('sample:')) throw new UsageError(`unknown sample "${spec}"; known: sample:phantom[:N], sample:cranium, sample:colin27, sample:colin27:better`);
  return folderSources(userPath(spec), opts.warn);
}
