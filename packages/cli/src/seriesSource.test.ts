import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareVolume } from '@tomosort/pretext';
import { MRICRON_TEMPLATES } from '@tomosort/samples';
import { voxelCoord, voxelToPatient } from '@tomosort/volume';
import { UsageError } from './errors';
import { loadSeriesSpec } from './seriesSource';

const opts = { pacs: () => { throw new Error('no PACS in this test'); }, seed: 1 };
const colin27Installed = ['ch2.nii.gz', 'ch2better.nii.gz', 'aal.nii.gz', 'aal.nii.txt'].every((f) => existsSync(join(MRICRON_TEMPLATES, f)));

describe('loadSeriesSpec #slices=A-B (a slice range as a series of its own)', () => {
  it('sample:phantom:3#slices=20-29 (seed 1): 10 of 77 slices, voxels and labels unchanged, each at its old patient position, same frame', async () => {
    const full = await loadSeriesSpec('sample:phantom:3', opts);
    const cut = await loadSeriesSpec('sample:phantom:3#slices=20-29', opts);
    const [nx, ny, nz] = full.volume.dims;
    expect(nz).toBe(77);
    expect(cut.id).toBe('sample:phantom:3 (seed 1), slices 20-29');
    expect(cut.volume.dims).toEqual([nx, ny, 10]);
    expect(cut.volume.spacing).toEqual(full.volume.spacing);
    expect(cut.volume.direction).toEqual(full.volume.direction);
    expect(cut.volume.origin).toEqual(voxelToPatient(full.volume, voxelCoord(0, 0, 20)));
    expect(cut.volume.data).toEqual(full.volume.data.subarray(20 * nx * ny, 30 * nx * ny));
    expect(cut.sampleLabels!.labels.data).toEqual(full.sampleLabels!.labels.data.subarray(20 * nx * ny, 30 * nx * ny));
    expect(cut.sampleLabels!.labels.origin).toEqual(cut.volume.origin);
    expect(cut.sampleLabels!.classes).toEqual(full.sampleLabels!.classes);
    expect(cut.frame).toBe(full.frame);
    // What localize reports as the series' own position: the cut's first slice is the source's slice 20.
    const size = 16;
    const fullPrepared = prepareVolume(full.id, full.volume, { plane: 'axial', size });
    const cutPrepared = prepareVolume(cut.id, cut.volume, { plane: 'axial', size });
    expect(cutPrepared.firstMm).toBeCloseTo(fullPrepared.firstMm + 20 * fullPrepared.spacingMm, 9);
  });

  it('#slices=5 is one slice; other phantom subjects and seeds are other frames', async () => {
    const one = await loadSeriesSpec('sample:phantom:3#slices=5', opts);
    expect(one.volume.dims[2]).toBe(1);
    expect((await loadSeriesSpec('sample:phantom:4', opts)).frame).not.toBe(one.frame);
    expect((await loadSeriesSpec('sample:phantom:3', { ...opts, seed: 2 })).frame).not.toBe(one.frame);
  });

  it.each([
    ['sample:phantom:3#slices=70-77', 'sample:phantom:3#slices=70-77: #slices=70-77 runs past the end of sample:phantom:3 (seed 1), which has 77 slices (0..76)'],
    ['sample:phantom:3#slices=77', 'sample:phantom:3#slices=77: #slices=77-77 runs past the end of sample:phantom:3 (seed 1), which has 77 slices (0..76)'],
    ['sample:phantom:3#slices=9-3', 'sample:phantom:3#slices=9-3: #slices=9-3 ends before it starts'],
    ['sample:phantom:3#slice=1', 'sample:phantom:3#slice=1: unknown suffix #slice=…; known: #slices=…, #t=…'],
  ])('refuses %s', async (spec, message) => {
    const error = await loadSeriesSpec(spec, opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(message);
  });

  it('names the Colin27 samples among the known ones', async () => {
    const error = await loadSeriesSpec('sample:colin28', opts).catch((e: unknown) => e);
    expect((error as Error).message).toBe('unknown sample "sample:colin28"; known: sample:phantom:N, sample:cranium, sample:colin27, sample:colin27:better');
  });
});

describe.skipIf(!colin27Installed)('loadSeriesSpec sample:colin27', () => {
  it('sample:colin27 and sample:colin27:better: MR with 4 label classes, one frame; #slices=60-69 of ch2 starts at z = −11 mm', async () => {
    const [ch2, better, cut] = await Promise.all([
      loadSeriesSpec('sample:colin27', opts),
      loadSeriesSpec('sample:colin27:better', opts),
      loadSeriesSpec('sample:colin27#slices=60-69', opts),
    ]);
    expect(ch2.volume.modality).toBe('MR');
    expect(ch2.sampleLabels!.classes.map((c) => c.name)).toEqual(['left cerebrum', 'right cerebrum', 'cerebellum', 'deep grey nuclei']);
    expect(better.volume.dims).toEqual([301, 370, 316]);
    expect(better.frame).toBe(ch2.frame);
    expect(cut.frame).toBe(ch2.frame);
    expect(cut.id).toBe('sample:colin27, slices 60-69');
    // ch2's slice k lies at z = −71 + k mm (its sform); ch2better's slice 2·(60 − 71 + 69.5) = 117 at the same z.
    expect(cut.volume.origin[2]).toBe(-11);
    expect(voxelToPatient(better.volume, voxelCoord(0, 0, 117))[2]).toBe(-11);
    expect(prepareVolume(cut.id, cut.volume, { plane: 'axial', size: 16 }).firstMm).toBe(-11);
  });
});
