import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti, readSegmentation, writeSeries } from '@tomosort/dicom';
import { phantomSubject } from '@tomosort/samples';
import { reorient } from '@tomosort/volume';
import type { Volume } from '@tomosort/volume';
import { loadSeriesSpec } from './seriesSource';
import { runTomosort } from './testing';

// One tiny coronal encoder (small net, 16², 2 SortingLoss steps) for every case: these tests
// check which plane each command uses and says, not what the model learned.
const scratch = mkdtempSync(join(tmpdir(), 'tomosort-planes-'));
const pretrained = join(scratch, 'pre-coronal');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Phantom subject 1 (cohort seed 0): an axial stack of 128 × 128 pixels. */
const subject = phantomSubject(1, 0).volume;
const coronalSlices = reorient(subject, 'coronal').dims[2];
const FT = ['--frozen-steps', '1', '--steps', '1', '--batch', '2', '--size', '16'] as const;

beforeAll(async () => {
  const run = await runTomosort(['pretrain', '--plane', 'coronal', '--model', 'small', '--size', '16', '--steps', '2', '--batch', '8', '--slices', '4', '--source', 'sample:phantom:2', '--holdout', '0', '--out', pretrained, '--json']);
  expect(run.code, run.stderr).toBe(0);
  expect((JSON.parse(run.stdout) as { plane: string }).plane).toBe('coronal');
}, 120_000);

const manifestOf = (dir: string) => (JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { modelTopology: Record<string, unknown> }).modelTopology;

/** The LPS voxel → patient affine, 3×4 (columns spacing·direction, then origin). */
const affine = (v: Volume): number[] => [0, 1, 2].flatMap((r) => [...[0, 1, 2].map((c) => v.direction[c as 0 | 1 | 2][r as 0 | 1 | 2] * v.spacing[c as 0 | 1 | 2]), v.origin[r as 0 | 1 | 2]]);

describe('planes: recorded by pretrain and finetune, used by localize and predict', () => {
  it('pretrain --plane coronal records plane "coronal" in the manifest', () => {
    expect(manifestOf(join(pretrained, 'model'))).toMatchObject({ method: 'sorting', inputSize: 16, plane: 'coronal' });
  });

  it('localize with the coronal model (given as the pretrain --out folder) scores coronal slices by default, with no warning', async () => {
    const run = await runTomosort(['localize', '--model', pretrained, '--series', 'sample:phantom:1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('warning');
    const s = JSON.parse(run.stdout) as { plane: string; modelPlane: string; slices: number };
    expect(s).toMatchObject({ plane: 'coronal', modelPlane: 'coronal', slices: coronalSlices });
    expect(coronalSlices).not.toBe(subject.dims[2]);
  }, 60_000);

  it('localize --plane axial with the coronal model scores axial slices and warns about the mismatch', async () => {
    const run = await runTomosort(['localize', '--model', pretrained, '--series', 'sample:phantom:1', '--plane', 'axial', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('warning: scoring axial slices (--plane) with a model pre-trained on coronal slices');
    expect(JSON.parse(run.stdout)).toMatchObject({ plane: 'axial', modelPlane: 'coronal', slices: subject.dims[2] });
  }, 60_000);

  it('a score model saved before planes were recorded is taken as axial, and localize says so once', async () => {
    const old = join(scratch, 'old-model');
    mkdirSync(old);
    const json = JSON.parse(readFileSync(join(pretrained, 'model', 'model.json'), 'utf8')) as { modelTopology: Record<string, unknown> };
    delete json.modelTopology.plane;
    writeFileSync(join(old, 'model.json'), JSON.stringify(json));
    copyFileSync(join(pretrained, 'model', 'weights.bin'), join(old, 'weights.bin'));
    const run = await runTomosort(['localize', '--model', old, '--series', 'sample:phantom:1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.match(/records no plane/g)).toHaveLength(1);
    expect(run.stderr).toContain(`${old} records no plane (saved before planes were recorded): taking it as axial`);
    expect(JSON.parse(run.stdout)).toMatchObject({ plane: 'axial', modelPlane: 'axial', slices: subject.dims[2] });
  }, 60_000);

  it('finetune with the coronal encoder on an axial series refuses without --plane, naming both planes (exit 2)', async () => {
    const run = await runTomosort(['finetune', '--encoder', pretrained, '--series', 'sample:phantom:1', '--slices', '30,40', ...FT, '--out', join(scratch, 'refused')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/is stacked as axial slices but the encoder .*pre-coronal\/model was pre-trained on coronal slices: pass --plane coronal .* or --plane axial/);
  }, 60_000);

  it('finetune --plane axial (explicit) with the coronal encoder trains on the series own slices and warns', async () => {
    const out = join(scratch, 'ft-axial');
    const run = await runTomosort(['finetune', '--encoder', pretrained, '--plane', 'axial', '--series', 'sample:phantom:1', '--slices', '30,40', ...FT, '--out', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('warning: fine-tuning across axial slices (--plane) with an encoder pre-trained on coronal slices');
    expect(JSON.parse(run.stdout)).toMatchObject({ plane: 'axial', evaluation: { slices: subject.dims[2] - 2 } });
    expect(manifestOf(join(out, 'model'))).toMatchObject({ method: 'finetune', plane: 'axial' });
  }, 120_000);

  it('--size other than the encoder input size is refused in one line (exit 2)', async () => {
    const run = await runTomosort(['finetune', '--encoder', pretrained, '--series', 'sample:phantom:1', '--slices', '30', '--size', '32', '--out', join(scratch, 'size')]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^tomosort: --size 32 differs from the input size of the encoder .*pre-coronal\/model \(16\): it learned its features on 16² slices/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('--encoder naming a folder without a model says which folder and where it looked', async () => {
    const run = await runTomosort(['finetune', '--encoder', join(pretrained, 'checkpoint'), '--series', 'sample:phantom:1', '--slices', '30', '--out', join(scratch, 'none')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${join(pretrained, 'checkpoint')} holds no model: neither ${join(pretrained, 'checkpoint', 'model.json')} nor ${join(pretrained, 'checkpoint', 'model', 'model.json')} exists`);
  }, 60_000);

  it('finetune --plane coronal, then predict on the axial series as DICOM: labels across coronal slices, back on the series grid; the NIfTI label map equals the SEG', async () => {
    const out = join(scratch, 'ft-coronal');
    const ft = await runTomosort(['finetune', '--encoder', pretrained, '--plane', 'coronal', '--series', 'sample:phantom:1', '--slices', '50,70', ...FT, '--out', out, '--json']);
    expect(ft.code, ft.stderr).toBe(0);
    expect(ft.stderr).not.toContain('warning');
    // Dice is measured on the other coronal slices of the complete sample label map.
    expect(JSON.parse(ft.stdout)).toMatchObject({ plane: 'coronal', evaluation: { slices: coronalSlices - 2 } });
    expect(manifestOf(join(out, 'model'))).toMatchObject({ method: 'finetune', plane: 'coronal' });

    const folder = join(scratch, 'dicom');
    mkdirSync(folder);
    writeSeries(subject, { seriesDescription: 'phantom 1' }).files.forEach((f, k) => writeFileSync(join(folder, `${k}.dcm`), f));
    const segFile = join(scratch, 'pred.dcm');
    const niiFile = join(scratch, 'pred.nii.gz');
    const pr = await runTomosort(['predict', '--model', out, '--series', folder, '--out', segFile, '--nifti', niiFile, '--json']);
    expect(pr.code, pr.stderr).toBe(0);
    const written = JSON.parse(pr.stdout) as { plane: string; counts: Record<string, number>; nifti: string };
    expect(written).toMatchObject({ plane: 'coronal', nifti: niiFile });

    const series = await loadSeriesSpec(folder, { pacs: () => undefined as never, seed: 0 });
    const labels = readNifti(new Uint8Array(readFileSync(niiFile)), niiFile);
    const seg = readSegmentation({ name: segFile, bytes: new Uint8Array(readFileSync(segFile)) }, series.dicom!.series);
    expect(labels.dims).toEqual(series.volume.dims);
    const [a, b] = [affine(labels), affine(series.volume)];
    a.forEach((x, i) => expect(Math.abs(x - b[i]!), `affine entry ${i}`).toBeLessThan(1e-4));
    // The SEG numbers its segments 1..n; the NIfTI keeps the model's label values: map by name.
    const classes = manifestOf(join(out, 'model')).classes as { value: number; name: string }[];
    const valueOf = new Map(seg.segments.map((x) => [x.labelValue, classes.find((c) => c.name === x.label)!.value]));
    const fromSeg = Uint8Array.from(seg.labelmap.data, (v) => (v ? valueOf.get(v)! : 0));
    expect(labels.data).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(labels.data as Uint8Array).equals(Buffer.from(fromSeg))).toBe(true);
    for (const c of classes) expect(labels.data.filter((v) => v === c.value).length, c.name).toBe(written.counts[c.name]);
  }, 180_000);

  it('predict --out with a .nii name points to --nifti (exit 2)', async () => {
    const run = await runTomosort(['predict', '--model', join(scratch, 'ft-axial'), '--series', 'sample:phantom:1', '--out', join(scratch, 'x.nii.gz')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--out writes a DICOM SEG; for a NIfTI label map pass --nifti');
  });
});
