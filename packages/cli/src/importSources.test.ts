import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSeriesAsync } from '@tomosort/dicom';
import { MRICRON_TEMPLATES } from '@tomosort/samples';
import { prepareImport } from './importSources';

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
