import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { readInv3, readNifti, readSeriesAsync, writeSeries } from '@tomosort/dicom';
import { groupDicomFiles, listFiles } from '@tomosort/dicom/node';
import type { SeriesMetadata } from '@tomosort/dicom';
import { COLIN27_SAMPLE, loadColin27, loadCranium, phantomCohort } from '@tomosort/samples';
import type { Volume } from '@tomosort/volume';
import { userPath } from './env';
import { stableUid } from './stableUid';
import { CliError, UsageError } from './errors';

/** One validated series, ready to upload: Part-10 bytes of every instance. */
export interface PreparedSeries {
  /** Where it came from, for messages: a folder, a file, or `sample:…`. */
  readonly label: string;
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly files: readonly Uint8Array[];
}

/** A problem met while preparing an import that does not stop it (skipped files). */
export type ImportWarning = string;

export interface PrepareOptions {
  /** Number of phantom subjects for `sample:phantom` (default 4). */
  readonly subjects?: number;
  readonly seed?: number;
  readonly warn?: (w: ImportWarning) => void;
}

/** Validates each series of a DICOM folder or file; the bytes are uploaded unchanged, in slice order. */
async function prepareDicomFiles(paths: readonly string[], root: string, warn: (w: string) => void): Promise<PreparedSeries[]> {
  const prepared: PreparedSeries[] = [];
  for (const inputs of groupDicomFiles(paths, root, warn)) {
    // Compressed files are decoded to validate them; the stored bytes are what is uploaded.
    const s = await readSeriesAsync(inputs);
    const byName = new Map(inputs.map((i) => [i.name, i.bytes]));
    prepared.push({
      label: root,
      studyInstanceUID: s.studyInstanceUID,
      seriesInstanceUID: s.seriesInstanceUID,
      files: s.sources.map((n) => byName.get(n)!),
    });
  }
  return prepared;
}

/** Fixed UIDs and date for a sample, so importing it again changes nothing in the PACS. */
const sampleUids = (key: string): SeriesMetadata => ({
  studyInstanceUID: stableUid(`${key}/study`),
  seriesInstanceUID: stableUid(`${key}/series`),
  frameOfReferenceUID: stableUid(`${key}/frame`),
  sopInstanceUID: (k) => stableUid(`${key}/instance/${k}`),
  studyDate: '20240101',
});

function fromVolume(label: string, volume: Volume, meta: SeriesMetadata): PreparedSeries {
  const rounded = volume.data instanceof Int16Array ? volume : roundToInt16(volume);
  const w = writeSeries(rounded, meta);
  return { label, studyInstanceUID: w.studyInstanceUID, seriesInstanceUID: w.seriesInstanceUID, files: w.files };
}

function roundToInt16(v: Volume): Volume {
  const data = new Int16Array(v.data.length);
  for (let n = 0; n < data.length; n++) data[n] = Math.max(-32768, Math.min(32767, Math.round(v.data[n]!)));
  return { ...v, data };
}

/** A NIfTI path with an optional `#t=N` suffix choosing volume N of a 4D file. */
export interface NiftiSpec {
  readonly path: string;
  readonly volume: number | undefined;
}

/**
 * Splits `file.nii[.gz]#t=N` (volume N, 0-based, of a 4D file) into the path and N; a spec
 * without the suffix is returned as is. A malformed suffix (`#t=x`, `#t=-1`) is a UsageError.
 */
export function splitNiftiVolume(spec: string): NiftiSpec {
  const at = spec.lastIndexOf('#');
  if (at < 0 || !/\.nii(\.gz)?$/i.test(spec.slice(0, at))) return { path: spec, volume: undefined };
  const m = /^t=(\d+)$/.exec(spec.slice(at + 1));
  if (!m) throw new UsageError(`${spec}: the suffix after # must be t=N (N = 0, 1, …: the volume of a 4D NIfTI file)`);
  return { path: spec.slice(0, at), volume: Number(m[1]) };
}

/**
 * Turns an import argument into validated series: a folder or file of DICOM, a NIfTI file
 * (`file.nii.gz#t=N` for volume N of a 4D one), an InVesalius .inv3 project, `sample:cranium`,
 * `sample:colin27[:better]` or `sample:phantom`. Nothing is uploaded here.
 */
export async function prepareImport(spec: string, opts: PrepareOptions = {}): Promise<PreparedSeries[]> {
  const warn = opts.warn ?? (() => {});
  if (spec === 'sample:cranium') {
    const p = await loadCranium();
    return [
      fromVolume(spec, p.volume, {
        ...sampleUids('sample:cranium'),
        patientName: 'Cranium^Sample',
        patientID: 'sample-cranium',
        studyDescription: 'sample:cranium (InVesalius example head CT)',
        seriesDescription: `${p.name} (coronal)`,
      }),
    ];
  }
  if (spec === COLIN27_SAMPLE.ch2 || spec === COLIN27_SAMPLE.ch2better) {
    const s = await loadColin27({ image: spec === COLIN27_SAMPLE.ch2 ? 'ch2' : 'ch2better' });
    return [
      fromVolume(spec, s.volume, {
        ...sampleUids(spec),
        // One subject, one space: both images go to the same study and frame of reference.
        studyInstanceUID: stableUid('sample:colin27/study'),
        frameOfReferenceUID: stableUid('sample:colin27/frame'),
        patientName: 'Colin27^Sample',
        patientID: 'sample-colin27',
        studyDescription: 'sample:colin27 (Colin27 T1 brain MR, MNI space)',
        seriesDescription: spec === COLIN27_SAMPLE.ch2 ? 'ch2 T1 1 mm (axial)' : 'ch2better T1 0.5 mm, skull-stripped (axial)',
      }),
    ];
  }
  if (spec === 'sample:phantom') {
    const n = opts.subjects ?? 4;
    if (!Number.isInteger(n) || n < 1) throw new CliError(`--subjects must be a positive integer, got ${opts.subjects}`);
    return phantomCohort({ subjects: n, seed: opts.seed ?? 0 }).map((s) =>
      fromVolume(spec, s.volume, {
        ...sampleUids(`sample:phantom/seed-${opts.seed ?? 0}/${s.id}`),
        patientName: `Phantom^${s.id}`,
        patientID: s.id,
        studyDescription: 'sample:phantom (synthetic torso)',
        seriesDescription: `${s.id} axial`,
      }),
    );
  }
  if (spec.startsWith('sample:')) throw new CliError(`unknown sample "${spec}"; known: sample:cranium, sample:colin27, sample:colin27:better, sample:phantom`);

  const nifti = splitNiftiVolume(spec);
  const path = userPath(nifti.path);
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new CliError(`${nifti.path}: no such file or folder`);
  }
  if (nifti.volume !== undefined && !stat.isFile()) throw new UsageError(`${spec}: #t=N names a volume of a NIfTI file, not of a folder`);
  if (stat.isDirectory()) return prepareDicomFiles(listFiles(path), path, warn);
  const lower = path.toLowerCase();
  const name = basename(path);
  if (lower.endsWith('.nii') || lower.endsWith('.nii.gz')) {
    const volume = readNifti(new Uint8Array(readFileSync(path)), name, nifti.volume === undefined ? {} : { volume: nifti.volume });
    return [fromVolume(spec, { ...volume, modality: volume.modality === 'OT' ? 'MR' : volume.modality }, { seriesDescription: name, patientID: name })];
  }
  if (lower.endsWith('.inv3')) {
    const p = readInv3(new Uint8Array(readFileSync(path)), name);
    return [fromVolume(spec, p.volume, { seriesDescription: p.name || name, patientID: name })];
  }
  return prepareDicomFiles([path], path, warn);
}
