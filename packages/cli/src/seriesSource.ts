import { readNifti, readSeriesAsync } from '@tomosort/dicom';
import type { DicomInput, SeriesVolume } from '@tomosort/dicom';
import { groupDicomFiles, listFiles } from '@tomosort/dicom/node';
import { fetchSeriesFiles, seriesUid } from '@tomosort/pacs';
import type { PacsClient, StudyUid } from '@tomosort/pacs';
import { COLIN27_SAMPLE, PHANTOM_ORGANS, loadColin27, loadCranium, phantomSubject } from '@tomosort/samples';
import type { Colin27Image } from '@tomosort/samples';
import type { SegmentClass } from '@tomosort/segment';
import { createVolume, cutSlices } from '@tomosort/volume';
import type { Volume } from '@tomosort/volume';
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { userPath } from './env';
import { splitNiftiVolume } from './importSources';
import { CliError, UsageError } from './errors';
import { parseSliceRange, splitSpecSuffixes } from './specSuffix';
import type { SliceRange } from './specSuffix';

/** One volume a command works on, with what is known about where it came from. */
export interface LoadedSeries {
  /** For messages: the series UID, file or sample name. */
  readonly id: string;
  readonly volume: Volume;
  /** When it came from DICOM: identifiers and instance order (needed to write a SEG). */
  readonly dicom?: { readonly series: SeriesVolume; readonly files: readonly DicomInput[] };
  readonly studyUid?: StudyUid;
  /**
   * The patient frame its coordinates are in: the DICOM FrameOfReferenceUID, else a key of its
   * source (`sample:colin27` for both Colin27 images, the sample or file otherwise). Series with
   * the same frame have comparable patient positions; a `#slices=` cut keeps its source's.
   */
  readonly frame?: string;
  /** The sample's own labels (sample:phantom, sample:cranium, sample:colin27). */
  readonly sampleLabels?: { readonly labels: Volume<Uint8Array>; readonly classes: readonly SegmentClass[] };
}

/** The `#key=value` suffixes a series spec may carry (see {@link loadSeriesSpec}). */
export const SERIES_SUFFIXES: readonly string[] = ['slices', 't'];

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
  return { id: `series ${uid}`, volume: series.volume, dicom: { series, files }, studyUid, ...frameOf(series) };
}

const frameOf = (series: SeriesVolume): { frame?: string } => (series.frameOfReferenceUID ? { frame: series.frameOfReferenceUID } : {});

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
    frame: 'sample:cranium',
    sampleLabels: {
      labels: createVolume({ ...p.volume, data: labels, modality: 'SEG' }),
      classes: [
        { value: 1, name: 'head' },
        { value: 2, name: 'bone' },
      ],
    },
  };
}

/** Sample brain MR: Colin27 (ch2 at 1 mm or ch2better at 0.5 mm) with AAL merged into 4 classes; both images share one frame. */
async function colin27(image: Colin27Image): Promise<LoadedSeries> {
  const s = await loadColin27({ image });
  return { id: s.id, volume: s.volume, frame: COLIN27_SAMPLE.ch2, sampleLabels: { labels: s.labels, classes: s.classes } };
}

const KNOWN_SAMPLES = 'sample:phantom:N, sample:cranium, sample:colin27, sample:colin27:better';

/**
 * Parses a `--series` value:
 *   sample:phantom:N       subject N of the phantom cohort `seed` (its organ labels come along)
 *   sample:cranium         the sample head CT (its masks come along)
 *   sample:colin27         the sample brain MR at 1 mm (its merged AAL labels come along)
 *   sample:colin27:better  the same brain at 0.5 mm, in the same frame
 *   pacs:UID or UID        a series in the PACS
 *   a folder or file       one DICOM series or a NIfTI volume
 * followed by any of these suffixes:
 *   #slices=A-B            only slices A..B (inclusive; or #slices=A) along the volume's own slice
 *                          axis k, as a series of its own in the same frame (see {@link cutSeries})
 *   #t=N                   volume N (0, 1, …) of a 4D NIfTI file
 */
export async function loadSeriesSpec(spec: string, opts: { readonly pacs: () => PacsClient; readonly seed: number }): Promise<LoadedSeries> {
  const { base, params } = splitSpecSuffixes(spec, SERIES_SUFFIXES);
  // #t=N goes back on the base: the NIfTI reader's own parsing checks it.
  const t = params.get('t');
  const series = await loadBaseSpec(t === undefined ? base : `${base}#t=${t}`, opts);
  const slices = params.get('slices');
  return slices === undefined ? series : cutSeries(series, parseSliceRange(slices, spec), spec);
}

/**
 * Slices `range` of a series (indices along its volume's k axis) as a series of its own: voxels
 * and sample labels cut alike, every voxel at its old patient position, the same frame (so
 * `localize` can compare where it places the cut with where the cut truly lies). The DICOM
 * instances are not kept: a cut cannot be the series a SEG refers to.
 */
export function cutSeries(series: LoadedSeries, range: SliceRange, spec: string): LoadedSeries {
  const nz = series.volume.dims[2];
  if (range.last >= nz) {
    throw new UsageError(`${spec}: #slices=${range.first}-${range.last} runs past the end of ${series.id}, which has ${nz} slices (0..${nz - 1})`);
  }
  const { first, last } = range;
  return {
    id: `${series.id}, slices ${first}-${last}`,
    volume: cutSlices(series.volume, first, last),
    ...(series.studyUid ? { studyUid: series.studyUid } : {}),
    ...(series.frame ? { frame: series.frame } : {}),
    ...(series.sampleLabels ? { sampleLabels: { labels: cutSlices(series.sampleLabels.labels, first, last), classes: series.sampleLabels.classes } } : {}),
  };
}

async function loadBaseSpec(spec: string, opts: { readonly pacs: () => PacsClient; readonly seed: number }): Promise<LoadedSeries> {
  const phantom = /^sample:phantom:(\d+)$/.exec(spec);
  if (phantom) {
    const s = phantomSubject(Number(phantom[1]), opts.seed);
    const id = `${spec} (seed ${opts.seed})`;
    return { id, volume: s.volume, frame: id, sampleLabels: { labels: s.labels, classes: PHANTOM_ORGANS.map((o) => ({ value: o.id, name: o.name })) } };
  }
  if (spec === 'sample:cranium') return cranium();
  if (spec === COLIN27_SAMPLE.ch2) return colin27('ch2');
  if (spec === COLIN27_SAMPLE.ch2better) return colin27('ch2better');
  if (spec.startsWith('sample:')) throw new UsageError(`unknown sample "${spec}"; known: ${KNOWN_SAMPLES}`);
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
    return { id: nifti.volume === undefined ? path : `${path}#t=${nifti.volume}`, volume, frame: `file:${path}` };
  }
  if (nifti.volume !== undefined) throw new UsageError(`${spec}: #t=N names a volume of a NIfTI file`);
  const groups = stat.isDirectory() ? groupDicomFiles(listFiles(path), path) : groupDicomFiles([path], dirname(path));
  if (groups.length !== 1) throw new CliError(`${spec}: holds ${groups.length} DICOM series; pass one series (a folder or a UID)`);
  const files = groups[0]!;
  const series = await readSeriesAsync(files);
  return { id: path, volume: series.volume, dicom: { series, files }, ...frameOf(series) };
}
