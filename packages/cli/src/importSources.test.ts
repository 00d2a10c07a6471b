import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NiftiError, readSeries, readSeriesAsync } from '@tomosort/dicom';
import { MRICRON_TEMPLATES } from '@tomosort/samples';
import { int16Bytes, niftiFile } from '../../dicom/src/testing/niftiFile';
import { UsageError } from './errors';
import { prepareImport, splitNiftiVolume } from './importSources';

let scratch: string;
/** A 4D .nii: dims [3, 4, 2] × 3 volumes, volume t holding 100·t + (0..23). */
let fmri: string;
const volumeValues = (t: number): number[] => Array.from({ length: 24 }, (_, n) => 100 * t + n);

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'tomosort-sources-'));
  fmri = join(scratch, 'fmri.nii');
  const voxels = int16Bytes([...volumeValues(0), ...volumeValues(1), ...volumeValues(2)]);
  writeFileSync(fmri, niftiFile({ dim: [4, 3, 4, 2, 3, 1, 1, 1], pixdim: [1, 1, 1, 2, 1] }, voxels));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('a 4D NIfTI source on the command line', () => {
  it('without #t=N → NiftiError telling the CLI user to add #t=N', async () => {
    await expect(prepareImport(fmri)).rejects.toThrow(NiftiError);
    await expect(prepareImport(fmri)).rejects.toThrow('fmri.nii: holds 3 volumes (dim[4] = 3); choose one, t in 0..2: on the command line add #t=N to the file name (fmri.nii#t=0)');
  });

  it.each([0, 2])('file.nii#t=%i → one series of 2 slices holding volume t', async (t) => {
    const [series, ...rest] = await prepareImport(`${fmri}#t=${t}`);
    expect(rest).toHaveLength(0);
    expect(series!.files).toHaveLength(2);
    const back = readSeries(series!.files.map((bytes, n) => ({ name: `${n}.dcm`, bytes })));
    expect(back.volume.dims).toEqual([3, 4, 2]);
    expect(Array.from(back.volume.data)).toEqual(volumeValues(t));
  });

  it.each([
    ['fmri.nii#t=1', { path: 'fmri.nii', volume: 1 }],
    ['a/b.nii#t=12', { path: 'a/b.nii', volume: 12 }],
    ['folder#t=1', { path: 'folder#t=1', volume: undefined }],
    ['plain.nii.gz', { path: 'plain.nii.gz', volume: undefined }],
  ])('splitNiftiVolume(%j)', (spec, want) => expect(splitNiftiVolume(spec)).toEqual(want));

  it.each(['fmri.nii#t=x', 'fmri.nii#t=-1', 'fmri.nii#3'])('%s → UsageError', (spec) => {
    expect(() => splitNiftiVolume(spec)).toThrow(UsageError);
    expect(() => splitNiftiVolume(spec)).toThrow(`${spec}: the suffix after # must be t=N`);
  });
});

const colin27Installed = ['ch2.nii.gz', 'ch2better.nii.gz', 'aal.nii.gz', 'aal.nii.txt'].every((f) => existsSync(join(MRICRON_TEMPLATES, f)));

describe.skipIf(!colin27Installed)('prepareImport sample:colin27', () => {
  it('ch2 (181 axial MR images) and ch2better (316) go to one study and one frame of reference, as two series', async () => {
    const [[ch2], [better]] = await Promise.all([prepareImport('sample:colin27'), prepareImport('sample:colin27:better')]);
    expect(ch2!.files).toHaveLength(181);
    expect(better!.files).toHaveLength(316);
    expect(better!.studyInstanceUID).toBe(ch2!.studyInstanceUID);
    expect(better!.seriesInstanceUID).not.toBe(ch2!.seriesInstanceUID);
    const read = (p: typeof ch2) => readSeriesAsync(p!.files.map((bytes, n) => ({ name: `${n}.dcm`, bytes })));
    const [a, b] = await Promise.all([read(ch2), read(better)]);
    expect(a.volume.modality).toBe('MR');
    expect(a.frameOfReferenceUID).toBeDefined();
    expect(b.frameOfReferenceUID).toBe(a.frameOfReferenceUID);
    // Positions survive the DICOM round trip: ch2 slice 60 and ch2better slice 117 both lie at z = −11 mm.
    expect(a.volume.origin[2] + 60 * a.volume.spacing[2]).toBeCloseTo(-11, 4);
    expect(b.volume.origin[2] + 117 * b.volume.spacing[2]).toBeCloseTo(-11, 4);
  }, 60_000);
});
