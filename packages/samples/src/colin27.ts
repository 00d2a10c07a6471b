import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readNifti } from '@tomosort/dicom';
import { resampleNearest } from '@tomosort/volume';
import type { Grid, Volume } from '@tomosort/volume';
import { SampleError, SampleUnavailableError } from './errors';

/**
 * Where Debian's `mricron-data` package installs its templates: Colin27 (`ch2.nii.gz`, 1 mm;
 * `ch2better.nii.gz`, the same subject at 0.5 mm on a smaller field of view) and the AAL atlas in
 * the same (MNI) space (`aal.nii.gz`, region names in `aal.nii.txt`). Read from here at run time
 * and never copied into the repository.
 */
export const MRICRON_TEMPLATES = '/usr/share/mricron/templates';

/** The two Colin27 images: `ch2` (181 × 217 × 181, 1 mm) and `ch2better` (301 × 370 × 316, 0.5 mm). */
export type Colin27Image = 'ch2' | 'ch2better';

/** Sample name of each image, as the CLI spells it. */
export const COLIN27_SAMPLE: Readonly<Record<Colin27Image, string>> = {
  ch2: 'sample:colin27',
  ch2better: 'sample:colin27:better',
};

/** One class of the merged label map. */
export interface Colin27Class {
  readonly value: number;
  readonly name: string;
}

/**
 * The classes AAL's 116 regions are merged into (see {@link colin27ClassOfAal}); 0 is everything
 * AAL leaves unlabelled (outside the brain, most white matter, ventricles).
 */
export const COLIN27_CLASSES: readonly Colin27Class[] = [
  { value: 1, name: 'left cerebrum' },
  { value: 2, name: 'right cerebrum' },
  { value: 3, name: 'cerebellum' },
  { value: 4, name: 'deep grey nuclei' },
];

const DEEP_GREY = /^(Caudate|Putamen|Pallidum|Thalamus)_[LR]$/;
const CEREBELLUM = /^(Cerebelum_.+_[LR]|Vermis_.+)$/;

/**
 * The class of one AAL region, by its name in aal.nii.txt: cerebellar hemispheres (`Cerebelum_*`,
 * AAL's spelling) and the vermis → 3; caudate, putamen, pallidum and thalamus of both sides → 4;
 * every other region ending in `_L` → 1 (left cerebrum: cortex, hippocampus, amygdala), in `_R`
 * → 2. Undefined for a name none of these rules cover.
 */
export function colin27ClassOfAal(name: string): number | undefined {
  if (CEREBELLUM.test(name)) return 3;
  if (DEEP_GREY.test(name)) return 4;
  if (name.endsWith('_L')) return 1;
  if (name.endsWith('_R')) return 2;
  return undefined;
}

/** Parses aal.nii.txt ("<number> <name> <code>" a line) into the merged class of each region number. */
export function aalClassTable(text: string, file = 'aal.nii.txt'): Uint8Array {
  const table = new Uint8Array(256);
  for (const [n, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const m = /^\s*(\d+)\s+(\S+)/.exec(line);
    if (!m) throw new SampleError(`${file}: line ${n + 1} is not "<number> <name> …": ${JSON.stringify(line)}`);
    const region = Number(m[1]);
    const cls = colin27ClassOfAal(m[2]!);
    if (region < 1 || region > 255) throw new SampleError(`${file}: line ${n + 1}: region ${region} is not in 1..255`);
    if (cls === undefined) throw new SampleError(`${file}: line ${n + 1}: no class for AAL region ${region} ${m[2]}`);
    table[region] = cls;
  }
  return table;
}

/** Sample Colin27: the T1 MR image and its merged AAL label map on the image's own grid. */
export interface Colin27Sample {
  /** 'sample:colin27' or 'sample:colin27:better'. */
  readonly id: string;
  /** uint8 T1 intensities (no physical unit), modality 'MR'. */
  readonly volume: Volume<Uint8Array>;
  /** Values of {@link COLIN27_CLASSES} (0 = unlabelled), same grid as `volume`, modality 'SEG'. */
  readonly labels: Volume<Uint8Array>;
  readonly classes: readonly Colin27Class[];
}

export interface LoadColin27Options {
  /** Which image (default 'ch2'). */
  readonly image?: Colin27Image;
  /** Folder holding ch2.nii.gz, ch2better.nii.gz, aal.nii.gz and aal.nii.txt (default {@link MRICRON_TEMPLATES}). */
  readonly dir?: string;
}

async function readPackaged(sample: string, path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SampleUnavailableError(sample, path, 'install it with `apt-get install mricron-data` (or run ./scripts/setup.sh)', { cause: e });
    }
    throw e;
  }
}

const sameGrid = (a: Grid, b: Grid): boolean => {
  const close = (x: readonly number[], y: readonly number[]) => x.every((v, n) => Math.abs(v - y[n]!) < 1e-4);
  return close(a.dims, b.dims) && close(a.spacing, b.spacing) && close(a.origin, b.origin) && a.direction.every((d, n) => close(d, b.direction[n]!));
};

/**
 * Loads sample:colin27 (`image: 'ch2'`) or sample:colin27:better (`'ch2better'`) with readNifti
 * (RAS → LPS): i → patient right, j → anterior, k → superior, so k runs feet → head (axial).
 * The label map is AAL merged by {@link aalClassTable}; on ch2 it is AAL's own grid (the two
 * files share one affine), on ch2better it is copied by patient (mm) position, nearest
 * neighbour ({@link resampleNearest}).
 * @throws SampleUnavailableError naming the missing file when mricron-data is not installed.
 */
export async function loadColin27(options: LoadColin27Options = {}): Promise<Colin27Sample> {
  const image = options.image ?? 'ch2';
  const dir = options.dir ?? MRICRON_TEMPLATES;
  const id = COLIN27_SAMPLE[image];
  // One after the other, so that the error names the first file missing.
  const imageBytes = await readPackaged(id, join(dir, `${image}.nii.gz`));
  const aalBytes = await readPackaged(id, join(dir, 'aal.nii.gz'));
  const aalText = await readPackaged(id, join(dir, 'aal.nii.txt'));
  const volume = readNifti(imageBytes, `${image}.nii.gz`, { modality: 'MR' });
  const aal = readNifti(aalBytes, 'aal.nii.gz', { modality: 'SEG' });
  if (!(volume.data instanceof Uint8Array) || !(aal.data instanceof Uint8Array)) {
    throw new SampleError(`${id}: expected uint8 ${image}.nii.gz and aal.nii.gz, got ${volume.data.constructor.name} and ${aal.data.constructor.name}`);
  }
  const table = aalClassTable(new TextDecoder().decode(aalText));
  const merged = new Uint8Array(aal.data.length);
  for (let n = 0; n < merged.length; n++) merged[n] = table[aal.data[n]!]!;
  const atlas: Volume<Uint8Array> = { ...aal, data: merged };
  const mr: Volume<Uint8Array> = { ...volume, data: volume.data };
  const labels = sameGrid(atlas, mr) ? { ...atlas, dims: mr.dims, spacing: mr.spacing, origin: mr.origin, direction: mr.direction } : resampleNearest(atlas, mr);
  return { id, volume: mr, labels, classes: COLIN27_CLASSES };
}
