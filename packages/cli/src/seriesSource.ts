import { readNifti, readSeriesAsync } from '@tomosort/dicom';
import type { DicomInput, SeriesVolume } from '@tomosort/dicom';
import { groupDicomFiles, listFiles } from '@tomosort/dicom/node';
import { fetchSeriesFiles, seriesUid } from '@tomosort/pacs';
import type { PacsClient, StudyUid } from '@tomosort/pacs';
import { PHANTOM_ORGANS, loadCranium, phantomSubject } from '@tomosort/samples';
import type { SegmentClass } from '@tomosort/segment';
import { createVolume } from '@tomosort/volume';
import type { Volume } from '@tomosort/volume';
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { userPath } from './env';
import { splitNiftiVolume } from './importSources';
import { CliError, UsageError } from './errors';

/** One volume a command works on, with what is known about where it came from. */
export interface LoadedSeries {
  /** For messages: the series UID, file or sample name. */
  readonly id: string;
  readonly volume: Volume;
  /** When it came from DICOM: identifiers and instance order (needed to write a SEG). */
  readonly dicom?: { readonly series: SeriesVolume; readonly files: readonly DicomInput[] };
  readonly studyUid?: StudyUid;
  /** The sample's own labels (sample:phantom, sample:cranium). */
  readonly sampleLabels?: { readonly labels: Volume<Uint8Array>; readonly classes: readonly SegmentClass[] };
}

/** The series' study, by a QIDO search on SeriesInstanceUID. */
export async function studyOfSeries(pacs: PacsClient, uid: string): Promise<StudyUid> {
  const [hit] = await pacs.searchSeries(undefined, { SeriesInstanceUID: uid });
  if (!hit) throw new CliError(`series ${uid} is not in the PACS (see \`pnpm tomosort ls\`)`);
  return hit.studyInstanceUID;
}

/** Downloads a series from the PACS and reads it. */
export async function loadPacsSeries(pacs: PacsClient, uid: string): Promise<LoadedSeries> {
  const studyUid = await studyOfSeries(pacs, uid);
  const files = await fetchSeriesFiles(pacs, studyUid, seriesUid(uid));
  const series = await readSeriesAsync(files);
  return { id: `series ${uid}`, volume: series.volume, dicom: { series, files }, studyUid };
}

/** Sample head CT: label 1 = head (mask_1), 2 = bone (mask_0, drawn over the head). */
async function cranium(): Promise<LoadedSeries> {
  const p = await loadCranium();
  const labels = new Uint8Array(p.volume.data.length);
  const byName = (i: number) => p.masks.find((m) => m.index === i);
  const head = byName(1);
  const bone = byName(0);
  if (!head || !bone) throw new CliError('the sample head CT lacks its two masks');
  for (let n = 0; n < labels.length; n++) labels[n] = bone.volume.data[n] ? 2 : head.volume.data[n] ? 1 : 0;
  return {
    id: 'sample:cranium',
    volume: p.volume,
    sampleLabels: {
      labels: createVolume({ ...p.volume, data: labels, modality: 'SEG' }),
      classes: [
        { value: 1, name: 'head' },
        { value: 2, name: 'bone' },
      ],
    },
  };
}

/**
 * Parses a `--series` value:
 *   sample:phantom:N   subject N of the phantom cohort `seed` (its organ labels come along)
 *   sample:cranium     the sample head CT (its masks come along)
 *   pacs:UID or UID    a series in the PACS
 *   a folder or file   one DICOM series or a NIfTI volume (file.nii.gz#t=N: volume N of a 4D file)
 */
export async function loadSeriesSpec(spec: string, opts: { readonly pacs: () => PacsClient; readonly seed: number }): Promise<LoadedSeries> {
  const phantom = /^sample:phantom:(\d+)$/.exec(spec);
  if (phantom) {
    const s = phantomSubject(Number(phantom[1]), opts.seed);
    return { id: `${spec} (seed ${opts.seed})`, volume: s.volume, sampleLabels: { labels: s.labels, classes: PHANTOM_ORGANS.map((o) => ({ value: o.id, name: o.name })) } };
  }
  if (spec === 'sample:cranium') return cranium();
  if (spec.startsWith('sample:')) throw new UsageError(`unknown sample "${spec}"; known: sample:phantom:N, sample:cranium`);
  const uid = spec.startsWith('pacs:') ? spec.slice(5) : /^[0-9.]+$/.test(spec) ? spec : undefined;
  if (uid !== undefined) return loadPacsSeries(opts.pacs(), uid);
  const nifti = splitNiftiVolume(spec);
  const path = userPath(nifti.path);
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new UsageError(`${spec}: no such file or folder, and not a series UID or sample`);
  }
  if (stat.isFile() && /\.nii(\.gz)?$/i.test(path)) {
    const volume = readNifti(new Uint8Array(readFileSync(path)), path, nifti.volume === undefined ? {} : { volume: nifti.volume });
    return { id: nifti.volume === undefined ? path : `${path}#t=${nifti.volume}`, volume };
  }
  if (nifti.volume !== undefined) throw new UsageError(`${spec}: #t=N names a volume of a NIfTI file`);
  const groups = stat.isDirectory() ? groupDicomFiles(listFiles(path), path) : groupDicomFiles([path], dirname(path));
  if (groups.length !== 1) throw new CliError(`${spec}: holds ${groups.length} DICOM series; pass one series (a folder or a UID)`);
  const files = groups[0]!;
  const series = await readSeriesAsync(files);
  return { id: path, volume: series.volume, dicom: { series, files } };
}
