import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti, readSegmentation } from '@tomosort/dicom';
import { PacsClient, fetchSeriesFiles, loadSeriesVolume, seriesUid, studyUid } from '@tomosort/pacs';
import { startOrthanc } from '@tomosort/pacs/local';
import type { LocalOrthanc } from '@tomosort/pacs/local';
import { dicePerClass } from '@tomosort/segment';
import { createVolume } from '@tomosort/volume';
import { loadSeriesSpec } from './seriesSource';
import { runTomosort } from './testing';

let orthanc: LocalOrthanc;
let pacs: PacsClient;
let scratch: string;

beforeAll(async () => {
  orthanc = await startOrthanc();
  pacs = new PacsClient({ baseUrl: orthanc.url });
  scratch = mkdtempSync(join(tmpdir(), 'tomosort-finetune-'));
});
afterAll(async () => {
  await orthanc?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const sha = (files: readonly { bytes: Uint8Array }[]) => createHash('sha256').update(Buffer.concat(files.map((f) => f.bytes))).digest('hex');

describe('tomosort finetune → predict → DICOM SEG in a real Orthanc', () => {
  it('fine-tunes on 4 annotated slices of the sample CT, then stores a SEG that references the CT, which stays byte-identical', async () => {
    const imported = await runTomosort(['import', 'sample:cranium', '--pacs', orthanc.url, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    const [ct] = JSON.parse(imported.stdout) as { studyInstanceUID: string; seriesInstanceUID: string }[];
    const study = studyUid(ct!.studyInstanceUID);
    const series = seriesUid(ct!.seriesInstanceUID);
    const before = sha(await fetchSeriesFiles(pacs, study, series));

    const out = join(scratch, 'run');
    const ft = await runTomosort([
      'finetune', '--series', 'sample:cranium', '--slices', '20,45,70,95', '--model', 'small', '--size', '32',
      '--frozen-steps', '10', '--steps', '10', '--batch', '4', '--out', out, '--json',
    ]);
    expect(ft.stderr).toBe('');
    expect(ft.code).toBe(0);
    const summary = JSON.parse(ft.stdout) as {
      intensity: string;
      quality?: unknown;
      classes: { value: number; name: string }[];
      metrics: Record<string, number>;
      evaluation: { slices: number; model: Record<string, number>; interpolation: Record<string, number>; meanDice: { model: number; interpolation: number }; better: string };
    };
    expect(summary.classes).toEqual([
      { value: 1, name: 'head' },
      { value: 2, name: 'bone' },
    ]);
    expect(summary.intensity).toBe("CT values go through the model's window 40/400 as they are (HU)");
    // No --quality-folds: no estimate (its CLI path is checked on the phantom below, where ITK's interpolation is cheap).
    expect(summary.quality).toBeUndefined();
    // Dice is measured on the 104 slices the training did not see, for the model and for contour
    // interpolation of the same 4 slices, and the verdict follows the means.
    const e = summary.evaluation;
    expect(e.slices).toBe(104);
    expect(summary.metrics['dice/head']).toBe(e.model.head);
    expect(summary.metrics.interpolationMeanDice).toBe(e.meanDice.interpolation);
    expect(e.better).toBe(e.meanDice.model > e.meanDice.interpolation ? 'model' : 'interpolation');
    // Contour interpolation of the 4 slices (deterministic) places the head better than calling
    // every voxel head; whether a 20-step model does is a learning claim for the experiment, not
    // for one seed here — only that its Dice is one.
    const sample = await loadSeriesSpec('sample:cranium', { pacs: () => pacs, seed: 0 });
    const truth = sample.sampleLabels!.labels;
    const evaluated = [...Array(108).keys()].filter((k) => ![20, 45, 70, 95].includes(k));
    const allHead = dicePerClass(createVolume({ ...truth, data: new Uint8Array(truth.data.length).fill(1) }), truth, [{ value: 1, name: 'head' }], evaluated).head!;
    expect(e.model.head).toBeGreaterThanOrEqual(0);
    expect(e.model.head).toBeLessThanOrEqual(1);
    expect(e.interpolation.head).toBeGreaterThan(allHead);

    const segFile = join(scratch, 'seg.dcm');
    const pr = await runTomosort(['predict', '--model', join(out, 'model'), '--series', ct!.seriesInstanceUID, '--pacs', orthanc.url, '--out', segFile, '--upload', '--json']);
    expect(pr.stderr).toBe('');
    expect(pr.code).toBe(0);
    const written = JSON.parse(pr.stdout) as { seriesInstanceUID: string; frames: number; counts: Record<string, number> };
    expect(written.counts.head).toBeGreaterThan(0);

    // The SEG is a new series of the same study, and it maps back onto the CT.
    const listed = await pacs.searchSeries(study);
    expect(listed.map((s) => s.seriesInstanceUID).sort()).toEqual([series, written.seriesInstanceUID].sort());
    expect(listed.find((s) => s.seriesInstanceUID === written.seriesInstanceUID)?.modality).toBe('SEG');
    const [stored] = await fetchSeriesFiles(pacs, study, seriesUid(written.seriesInstanceUID));
    expect(Buffer.from(stored!.bytes).equals(readFileSync(segFile))).toBe(true);
    const source = await loadSeriesVolume(pacs, study, series);
    const back = readSegmentation(stored!, source);
    expect(back.referencedSeriesInstanceUID).toBe(series);
    expect(back.segments.map((s) => s.label)).toEqual(['head', 'bone']);
    expect(back.slices.length).toBeGreaterThan(50);
    expect(written.frames).toBeGreaterThanOrEqual(back.slices.length);

    expect(sha(await fetchSeriesFiles(pacs, study, series))).toBe(before);
  }, 240_000);

  it("--quality-folds: the viewer's quality estimate and contour interpolation by the same folds, over the annotated slices", async () => {
    const ft = await runTomosort(['finetune', '--series', 'sample:phantom:1', '--slices', '25,40,55,70', '--classes', '6,9', '--model', 'small', '--size', '32', '--frozen-steps', '2', '--steps', '2', '--batch', '4', '--quality-folds', '2', '--out', join(scratch, 'ftq'), '--json']);
    expect(ft.code, ft.stderr).toBe(0);
    type Estimate = { folds: number; planes: number; perClass: { name: string; mean: number; min: number; max: number }[] };
    const { quality, classes } = JSON.parse(ft.stdout) as { quality: Estimate & { interpolation: Estimate }; classes: { name: string }[] };
    // 2 folds of 2 held-out slices each, for the model and for interpolation alike.
    expect(quality).toMatchObject({ folds: 2, planes: 4 });
    expect(quality.interpolation).toMatchObject({ folds: 2, planes: 4 });
    for (const e of [quality, quality.interpolation]) {
      expect(e.perClass.map((c) => c.name)).toEqual(classes.map((c) => c.name));
      for (const c of e.perClass) expect(c.min <= c.mean && c.mean <= c.max && c.min >= 0 && c.max <= 1).toBe(true);
    }
  }, 120_000);

  it('says what is wrong when the model is not a segmentation model or the series is not DICOM', async () => {
    const pre = await runTomosort(['pretrain', '--source', 'sample:phantom:2', '--model', 'small', '--size', '16', '--steps', '1', '--batch', '8', '--out', join(scratch, 'pre'), '--json']);
    expect(pre.code).toBe(0);
    const wrong = await runTomosort(['predict', '--model', join(scratch, 'pre', 'model'), '--series', 'sample:cranium', '--out', join(scratch, 'x.dcm')]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('is a score model (sorting); predict needs a segmentation model from `tomosort finetune`');
    const noLabels = await runTomosort(['finetune', '--series', 'sample:cranium', '--out', join(scratch, 'y')]);
    expect(noLabels.code).toBe(2);
    expect(noLabels.stderr).toContain('--slices K,K,… is required with --labels sample');
  }, 120_000);

  it('a 3D encoder (rotation3d): finetune trains a 3D U-Net on crops of 8 slices and reports it beside interpolation; predict labels the whole series with it', async () => {
    const pre = await runTomosort(['pretrain', '--source', 'sample:phantom:4', '--method', 'rotation3d', '--width', '0.5', '--size', '32', '--cube', '16', '--batch', '2', '--steps', '2', '--out', join(scratch, 'pre3d'), '--json']);
    expect(pre.code, pre.stderr).toBe(0);
    const out = join(scratch, 'ft3d');
    const ft = await runTomosort(['finetune', '--series', 'sample:phantom:1', '--encoder', join(scratch, 'pre3d'), '--slices', '30,50,70', '--classes', '6,9', '--depth', '8', '--frozen-steps', '2', '--steps', '2', '--out', out, '--json']);
    expect(ft.code, ft.stderr).toBe(0);
    const summary = JSON.parse(ft.stdout) as { steps: number; evaluation: { slices: number; better: string; meanDice: { model: number; interpolation: number } } };
    expect(summary.steps).toBe(4);
    expect(summary.evaluation.slices).toBeGreaterThan(50);
    expect(Number.isFinite(summary.evaluation.meanDice.model) && Number.isFinite(summary.evaluation.meanDice.interpolation)).toBe(true);
    const manifest = JSON.parse(readFileSync(join(out, 'model', 'model.json'), 'utf8')) as { modelTopology: { method: string; inputSize: number; cropDepth: number; architecture: { kind: string; encoder: { dims: number } } } };
    expect(manifest.modelTopology).toMatchObject({ method: 'finetune', inputSize: 32, cropDepth: 8, architecture: { kind: 'unet', encoder: { dims: 3 } } });
    const nifti = join(scratch, 'ft3d.nii.gz');
    const pr = await runTomosort(['predict', '--model', join(out, 'model'), '--series', 'sample:phantom:1', '--nifti', nifti]);
    expect(pr.code, pr.stderr).toBe(0);
    const series = await loadSeriesSpec('sample:phantom:1', { seed: 0, pacs: () => { throw new Error('no PACS'); } });
    const labels = readNifti(new Uint8Array(readFileSync(nifti)), nifti);
    expect(labels.dims).toEqual(series.volume.dims);
    expect(new Set(labels.data).size).toBeGreaterThan(1);
    const refused = await runTomosort(['finetune', '--series', 'sample:phantom:1', '--model', 'small', '--slices', '30', '--depth', '8', '--out', join(scratch, 'z')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--depth is for 3D encoders');
  }, 240_000);
});
