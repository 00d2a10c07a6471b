import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@tomosort/backend/node';
import { readSegmentation } from '@tomosort/dicom';
import { PacsClient, fetchSeriesFiles } from '@tomosort/pacs';
import { startOrthanc } from '@tomosort/pacs/local';
import type { LocalOrthanc } from '@tomosort/pacs/local';
import { BRAIN, readBytes, sha256 } from '@tomosort/pacs/testing';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, encoderSpec, expectKind, forwardCost, projectionModelSpec, scoreModelSpec, unetModelSpec } from '@tomosort/models';
import { saveModelToDir } from '@tomosort/models/node';
import { labelVolume, loadSeries, runExport, runFinetune, runListSegs, runLoadSeg, runMatch, runPretrain, runScore, writeReformats } from './jobs';
import type { SaveModel } from './jobs';
import { plainError } from './plainError';
import type { FromWorker, ReformattedLabels, SliceLabels } from './protocol';
import { DEFAULT_QUALITY_FOLDS } from './protocol';
import { QUALITY_FOLDS } from '@tomosort/segment';
import { getSlice } from '@tomosort/volume';
import { interpolateAnnotation } from '@tomosort/segment/node';

/** The fine-tuning job's tools as the worker has them, with ITK's Node build. */
const tools = { interpolate: interpolateAnnotation, backend: 'wasm (test)' };

let orthanc: LocalOrthanc;
let pacs: PacsClient;

beforeAll(async () => {
  await initNodeBackend('wasm');
  orthanc = await startOrthanc();
  pacs = new PacsClient({ baseUrl: orthanc.url });
  await pacs.uploadInstances(BRAIN.paths.map(readBytes));
}, 60_000);
afterAll(async () => {
  await orthanc?.stop();
});

const hash = async () => sha256(new Uint8Array(Buffer.concat((await fetchSeriesFiles(pacs, BRAIN.study, BRAIN.series)).map((f) => f.bytes))));

describe('the training worker’s jobs against a real Orthanc (real 20-slice MR, wasm)', () => {
  it('fine-tunes on 3 annotated slices, predicts the other 17, and stores a SEG of them that references the MR, which stays unchanged', async () => {
    const before = await hash();
    const { series } = await loadSeries(pacs, BRAIN.study, BRAIN.series);
    expect(series.volume.dims[2]).toBe(20);
    // "Annotation": head = the bright voxels of slices 4, 10 and 16 (a threshold, as a radiologist's threshold tool would).
    const plane = series.volume.dims[0] * series.volume.dims[1];
    const annotated: SliceLabels[] = [4, 10, 16].map((k) => {
      const hu = series.volume.data.subarray(k * plane, (k + 1) * plane);
      return { sopInstanceUID: series.sopInstanceUIDs[k]!, labels: Uint8Array.from(hu, (v) => (v > 200 ? 1 : 0)) };
    });
    const messages: FromWorker[] = [];
    await runFinetune(
      pacs,
      // "structure" (2) is never drawn: neither trained nor predicted nor exported.
      { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, annotated, classes: [{ value: 1, name: 'head' }, { value: 2, name: 'structure' }], model: null, size: 32, window: { center: 300, width: 1200 }, frozenSteps: 4, steps: 4, batch: 3, learningRate: 3e-3, seed: 1 },
      (m) => messages.push(m),
      tools,
    );
    const progress = messages.filter((m) => m.type === 'progress');
    // The run's 8 steps, then the quality estimate's 3 folds (leave-one-out over 3 slices) of 8 steps each.
    expect(progress.map((m) => m.phase)).toEqual([...Array(4).fill('frozen'), ...Array(4).fill('full'), ...Array(24).fill('quality')]);
    const predicted = messages.find((m) => m.type === 'predicted');
    if (predicted?.type !== 'predicted') throw new Error(`no prediction: ${JSON.stringify(messages.filter((m) => m.type !== 'progress'))}`);
    expect(predicted.steps).toBe(8);
    // What the steps cost: the 4 full steps' median, the FLOPs of 3 × a forward pass of the 2-class
    // U-Net (head + background) on 3 images of 32²; no GPU figures off WebGPU.
    expect(predicted.compute.backend).toBe(tools.backend);
    expect(predicted.compute.msPerStep).toBeGreaterThan(0);
    expect(predicted.compute.gflopPerStep).toBeCloseTo((3 * forwardCost(unetModelSpec(encoderSpec('small'), { classes: 2 }), 32).flops * 3) / 1e9, 9);
    expect(predicted.compute.webgpu).toBeUndefined();
    expect(predicted.quality).toMatchObject({ kind: 'estimated', folds: 3, planes: 3, perClass: [{ name: 'head' }] });
    // Contour interpolation by the same folds: slices 4 and 16 lie beyond the other two, where it fills nothing.
    expect(predicted.quality).toMatchObject({ interpolation: { kind: 'estimated', folds: 3, planes: 3, perClass: [{ name: 'head', min: 0 }] } });
    expect(messages).toContainEqual({ type: 'status', message: 'Quality estimate: contour interpolation of the same folds…' });
    expect(messages.filter((m) => m.type === 'status' && m.message.startsWith('Quality estimate: fold')).map((m) => (m.type === 'status' ? m.message : ''))).toEqual([1, 2, 3].map((f) => `Quality estimate: fold ${f} of 3 (trains again without one annotated plane)…`));
    expect(messages).toContainEqual({ type: 'status', message: 'Not trained (never drawn): structure' });
    expect(predicted.slices.some((s) => s.labels.includes(2))).toBe(false);
    const annotatedUids = new Set(annotated.map((a) => a.sopInstanceUID));
    for (const s of predicted.slices) {
      expect(annotatedUids.has(s.sopInstanceUID)).toBe(false);
      expect(s.labels).toHaveLength(plane);
    }

    const exported: FromWorker[] = [];
    await runExport(pacs, { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, slices: [...annotated, ...predicted.slices], classes: [{ value: 1, name: 'head' }, { value: 2, name: 'structure' }] }, (m) => exported.push(m));
    const done = exported.find((m) => m.type === 'exported');
    if (done?.type !== 'exported') throw new Error('no export');
    expect(done.frames).toBe(annotated.length + predicted.slices.length);
    const stored = (await pacs.searchSeries(BRAIN.study)).find((s) => s.seriesInstanceUID === done.seriesInstanceUID);
    expect(stored?.modality).toBe('SEG');
    const [segFile] = await fetchSeriesFiles(pacs, BRAIN.study, stored!.seriesInstanceUID);
    const seg = readSegmentation(segFile!, series);
    expect(seg.referencedSeriesInstanceUID).toBe(BRAIN.series);
    expect(seg.segments.map((s) => s.label)).toEqual(['head']);
    // The annotated slices come back exactly.
    for (const a of annotated) {
      const k = series.sopInstanceUIDs.indexOf(a.sopInstanceUID);
      expect(seg.labelmap.data.subarray(k * plane, (k + 1) * plane)).toEqual(a.labels);
    }
    // The stored SEG is offered to continue from, and loads back as the same labels on the same slices.
    const listed: FromWorker[] = [];
    await runListSegs(pacs, { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series }, (m) => listed.push(m));
    const segs = listed.find((m) => m.type === 'segs');
    if (segs?.type !== 'segs') throw new Error('no list');
    expect(segs.segs).toContainEqual({ seriesInstanceUID: done.seriesInstanceUID, description: 'tomosort sparse annotation (head)', segments: ['head'], slices: done.frames });
    const back: FromWorker[] = [];
    await runLoadSeg(pacs, { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, segSeriesInstanceUID: done.seriesInstanceUID }, (m) => back.push(m));
    const loaded = back.find((m) => m.type === 'segLoaded');
    if (loaded?.type !== 'segLoaded') throw new Error('not loaded');
    expect(loaded.classes).toEqual([{ value: 1, name: 'head' }]);
    const sent = new Map([...annotated, ...predicted.slices].map((x) => [x.sopInstanceUID, x.labels]));
    expect(loaded.slices.map((x) => x.sopInstanceUID).sort()).toEqual([...sent.keys()].sort());
    for (const x of loaded.slices) expect(x.labels).toEqual(sent.get(x.sopInstanceUID));
    // A series that is no SEG (the MR itself) is refused with the reader's reason.
    await expect(runLoadSeg(pacs, { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, segSeriesInstanceUID: BRAIN.series }, () => {})).rejects.toThrow(/^readSegmentation: .*: not a (readable DICOM file|Segmentation)/);
    expect(await hash()).toBe(before);
  }, 180_000);

  it('refuses a job with no annotated slice, and a slice of another series, in plain words', async () => {
    const job = { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, classes: [{ value: 1, name: 'head' }], model: null, size: 32, window: { center: 300, width: 1200 }, frozenSteps: 1, steps: 1, batch: 1, learningRate: 1e-3, seed: 1 };
    await expect(runFinetune(pacs, { ...job, annotated: [] }, () => {}, tools)).rejects.toThrow('no annotated slice');
    const { series } = await loadSeries(pacs, BRAIN.study, BRAIN.series);
    const blank = { sopInstanceUID: series.sopInstanceUIDs[3]!, labels: new Uint8Array(series.volume.dims[0] * series.volume.dims[1]) };
    await expect(runFinetune(pacs, { ...job, annotated: [blank] }, () => {}, tools)).rejects.toThrow('no label is drawn on the annotated slices (head): draw one first');
    // Inputs that cannot give a result, refused before anything runs (the panel once accepted size 7 and 1,000,000 steps).
    const drawn = { sopInstanceUID: series.sopInstanceUIDs[3]!, labels: new Uint8Array(series.volume.dims[0] * series.volume.dims[1]).fill(1) };
    await expect(runFinetune(pacs, { ...job, annotated: [drawn], size: 7 }, () => {}, tools)).rejects.toThrow('input size 7 is outside 16–512 pixels');
    await expect(runFinetune(pacs, { ...job, annotated: [drawn], steps: 1_000_000 }, () => {}, tools)).rejects.toThrow('steps 1000000 must be a whole number from 0 to 100,000');
    await expect(runFinetune(pacs, { ...job, annotated: [{ sopInstanceUID: '1.2.3', labels: new Uint8Array(4) }] }, () => {}, tools)).rejects.toThrow(`slice 1.2.3 is not an instance of series ${BRAIN.series}`);
  }, 60_000);
});

describe('the panel’s default quality folds', () => {
  it('are the segment package’s', () => {
    expect(DEFAULT_QUALITY_FOLDS).toBe(QUALITY_FOLDS);
  });
});

describe('planes drawn in a reformat (MPR across the acquired slices)', () => {
  it('writes a row plane and a column plane onto the series grid by SOP instance, whatever the order of its rows', async () => {
    const { series } = await loadSeries(pacs, BRAIN.study, BRAIN.series);
    const [nx, ny, nz] = series.volume.dims;
    // Rows of each plane image sent in reverse slice order: the SOP instances place them.
    const sops = [...series.sopInstanceUIDs].reverse();
    const row: ReformattedLabels = { axis: 1, index: 7, labels: Uint8Array.from({ length: nx * nz }, (_, n) => 1 + (n % 3)), sopInstanceUIDs: sops };
    const column: ReformattedLabels = { axis: 0, index: 5, labels: Uint8Array.from({ length: ny * nz }, (_, n) => (n % 2 ? 4 : 0)), sopInstanceUIDs: sops };
    const { labels } = labelVolume(series, []);
    expect(writeReformats(series, labels, [row, column])).toEqual([
      { axis: 1, index: 7 },
      { axis: 0, index: 5 },
    ]);
    // getSlice across axis 1 at j = 7 has x = i, y = k: our rows came in reverse k.
    const across = getSlice(labels, 1, 7).data;
    for (let k = 0; k < nz; k++) for (let i = 0; i < nx; i++) if (i !== 5) expect(across[i + nx * k]).toBe(row.labels[i + nx * (nz - 1 - k)]);
    const side = getSlice(labels, 0, 5).data;
    for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) expect(side[j + ny * k]).toBe(column.labels[j + ny * (nz - 1 - k)]);
    // Nothing else is touched.
    expect(labels.data.reduce((n, v, at) => n + (v && Math.floor(at / nx) % ny !== 7 && at % nx !== 5 ? 1 : 0), 0)).toBe(0);
    expect(() => writeReformats(series, labelVolume(series, []).labels, [{ ...row, index: ny }])).toThrow(`reformatted plane row ${ny} is outside this ${nx}×${ny} image`);
    expect(() => writeReformats(series, labelVolume(series, []).labels, [{ ...row, labels: row.labels.subarray(1) }])).toThrow(`reformatted plane row 7: ${nx * nz - 1} label values over ${nz} slice(s)`);
  });

  it('fine-tunes on reformatted planes alone, then predicts', async () => {
    const { series } = await loadSeries(pacs, BRAIN.study, BRAIN.series);
    const [nx, ny, nz] = series.volume.dims;
    const bright = (i: number, j: number, k: number) => (series.volume.data[i + nx * (j + ny * k)]! > 200 ? 1 : 0);
    const rowPlane = (j: number): ReformattedLabels => ({ axis: 1, index: j, sopInstanceUIDs: series.sopInstanceUIDs, labels: Uint8Array.from({ length: nx * nz }, (_, n) => bright(n % nx, j, Math.floor(n / nx))) });
    const messages: FromWorker[] = [];
    await runFinetune(
      pacs,
      { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, annotated: [], reformats: [rowPlane(Math.floor(ny / 3)), rowPlane(Math.floor((2 * ny) / 3))], classes: [{ value: 1, name: 'head' }], model: null, size: 32, window: { center: 300, width: 1200 }, frozenSteps: 2, steps: 2, batch: 2, learningRate: 3e-3, seed: 1 },
      (m) => messages.push(m),
      tools,
    );
    expect(messages).toContainEqual({ type: 'status', message: 'Fine-tuning on 0 annotated slice(s) and 2 reformatted plane(s)…' });
    const predicted = messages.find((m) => m.type === 'predicted');
    if (predicted?.type !== 'predicted') throw new Error(`no prediction: ${JSON.stringify(messages.filter((m) => m.type !== 'progress'))}`);
    expect(predicted.steps).toBe(4);
    // Interpolation runs along the acquisition: with no acquired slice it has nothing to interpolate.
    expect(predicted.quality).toMatchObject({ kind: 'estimated', folds: 2, planes: 2, interpolation: { kind: 'skipped', reason: 'few-slices' } });
  }, 60_000);
});

describe('the worker’s fine-tune job with a 3D encoder (over HTTP, the real MR)', () => {
  it('trains a 3D U-Net on crops of the manifest’s depth and predicts every other slice; no quality estimate, said so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tomosort-3d-'));
    const model = createModel(projectionModelSpec(encoderSpec('unet-down', { dims: 3, width: 0.25 })), { seed: 3 });
    await saveModelToDir(expectKind(model, 'projection'), { method: 'exemplar3d', inputSize: 32, cropDepth: 8, plane: 'axial', huWindow: { center: 300, width: 1200 }, sliceSpacingMm: 5, steps: 1, metrics: {} }, dir);
    model.dispose();
    const server = createServer((req, res) => res.end(readFileSync(join(dir, (req.url ?? '/').slice(1)))));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as { port: number }).port;
    try {
      const { series } = await loadSeries(pacs, BRAIN.study, BRAIN.series);
      const plane = series.volume.dims[0] * series.volume.dims[1];
      const annotated: SliceLabels[] = [5, 12].map((k) => ({ sopInstanceUID: series.sopInstanceUIDs[k]!, labels: Uint8Array.from(series.volume.data.subarray(k * plane, (k + 1) * plane), (v) => (v > 200 ? 1 : 0)) }));
      const messages: FromWorker[] = [];
      await runFinetune(
        pacs,
        { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, annotated, classes: [{ value: 1, name: 'head' }], model: { kind: 'url', url: `http://127.0.0.1:${port}/model.json` }, size: 64, window: { center: 40, width: 400 }, frozenSteps: 1, steps: 1, batch: 1, learningRate: 3e-3, seed: 1 },
        (m) => messages.push(m),
        tools,
      );
      const predicted = messages.find((m) => m.type === 'predicted');
      if (predicted?.type !== 'predicted') throw new Error(`no prediction: ${JSON.stringify(messages.filter((m) => m.type !== 'progress'))}`);
      expect(predicted.steps).toBe(2);
      expect(messages).toContainEqual({ type: 'status', message: 'Fine-tuning a 3D U-Net on crops of 8 slices on 2 annotated slice(s)…' });
      // The manifest's input size (32), not the job's 64: a pre-trained encoder keeps its own.
      expect(predicted.size).toBe(32);
      expect(predicted.quality).toEqual({ kind: 'skipped', reason: '3d' });
      expect(predicted.slices).toHaveLength(18);
      for (const s of predicted.slices) expect(s.labels).toHaveLength(plane);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the worker’s score job (a SortingLoss model over HTTP, the real MR)', () => {
  it('scores every axial slice by SOP instance and reports ρ and the order check', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tomosort-score-'));
    const model = createModel(scoreModelSpec(encoderSpec('small')), { seed: 3 });
    await saveModelToDir(expectKind(model, 'score'), { method: 'sorting', inputSize: 32, plane: 'axial', huWindow: { center: 300, width: 1200 }, sliceSpacingMm: 5, steps: 1, metrics: {} }, dir);
    model.dispose();
    // A plain static file server: the model store as the browser sees it.
    const server = createServer((req, res) => res.end(readFileSync(join(dir, (req.url ?? '/').slice(1)))));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as { port: number }).port;
    try {
      const messages: FromWorker[] = [];
      await runScore(pacs, { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, model: { kind: 'url', url: `http://127.0.0.1:${port}/model.json` } }, (m) => messages.push(m));
      const scored = messages.find((m) => m.type === 'scored');
      if (scored?.type !== 'scored') throw new Error('no scores');
      const { series } = await loadSeries(pacs, BRAIN.study, BRAIN.series);
      expect(scored.scores.map((s) => s.sopInstanceUID)).toEqual(series.sopInstanceUIDs);
      expect(scored.scores.every((s) => Number.isFinite(s.score))).toBe(true);
      expect(Math.abs(scored.rho)).toBeLessThanOrEqual(1);
      expect(Array.isArray(scored.order)).toBe(true);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("scoring across the model's plane", () => {
  it('a coronal model scores coronal slices of the axial MR (no instance is one of them); an axial model scores its instances in position order', async () => {
    const { series } = await loadSeries(pacs, BRAIN.study, BRAIN.series);
    const scoredWith = async (plane: 'axial' | 'coronal') => {
      const dir = mkdtempSync(join(tmpdir(), `tomosort-${plane}-`));
      try {
        const model = createModel(scoreModelSpec(encoderSpec('small')), { seed: 3 });
        await saveModelToDir(expectKind(model, 'score'), { method: 'sorting', inputSize: 32, plane, huWindow: { center: 300, width: 1200 }, sliceSpacingMm: 5, steps: 1, metrics: {} }, dir);
        model.dispose();
        const messages: FromWorker[] = [];
        await runScore(pacs, { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, model: { kind: 'files', files: picked(dir) } }, (m) => messages.push(m));
        const scored = messages.find((m) => m.type === 'scored');
        if (scored?.type !== 'scored') throw new Error('no scores');
        return scored;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const coronal = await scoredWith('coronal');
    // 20 axial slices of 256² at 5 mm: coronal slices run front to back, one per row of the 256.
    expect(coronal.scores.length).toBeGreaterThan(100);
    expect(coronal.scores.every((s) => s.sopInstanceUID === '')).toBe(true);
    const axial = await scoredWith('axial');
    expect(axial.scores).toHaveLength(series.sopInstanceUIDs.length);
    // Canonical axial order is feet → head: each score's instance is the slice at its position
    // (along the slice normal n, turned to point headwards: p_j = (origin · n + j · spacing)·sign(n_z)),
    // whichever way the series is stored.
    const v = series.volume;
    const n = v.direction[2];
    const zOf = (j: number) => (v.origin[0] * n[0] + v.origin[1] * n[1] + v.origin[2] * n[2] + j * v.spacing[2]) * Math.sign(n[2]);
    for (const s of axial.scores) expect(Math.abs(zOf(series.sopInstanceUIDs.indexOf(s.sopInstanceUID)) - s.positionMm)).toBeLessThan(0.01);
    expect(axial.scores.every((s, k) => k === 0 || s.positionMm > axial.scores[k - 1]!.positionMm)).toBe(true);
  }, 60_000);
});

/** A saved model folder as a file picker hands it over. */
const picked = (dir: string) => readdirSync(dir).map((name) => new File([readFileSync(join(dir, name))], name));

describe('pre-training on the open series, and models from picked files', () => {
  it('SortingLoss on the MR alone orders its slices; the saved model, picked as files, scores the same ρ', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tomosort-pretrain-'));
    const save: SaveModel = async (model, init) => {
      const manifest = await saveModelToDir(model, init, dir);
      return { url: `file://${dir}`, name: 'mr-pretrained', manifest };
    };
    try {
      const messages: FromWorker[] = [];
      const job = { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, size: 32, window: { center: 300, width: 1200 }, steps: 120, slicesPerVolume: 6, volumesPerBatch: 2, learningRate: 3e-3, seed: 2 };
      await runPretrain(pacs, job, (m) => messages.push(m), save);
      const progress = messages.filter((m) => m.type === 'progress');
      expect(progress).toHaveLength(120);
      expect(progress.every((m) => m.phase === 'pretrain' && Number.isFinite(m.loss))).toBe(true);
      const done = messages.find((m) => m.type === 'pretrained');
      if (done?.type !== 'pretrained') throw new Error(`no model: ${JSON.stringify(messages.filter((m) => m.type !== 'progress'))}`);
      expect(done.summary).toMatchObject({ method: 'sorting', kind: 'score', inputSize: 32, steps: 120, huWindow: { center: 300, width: 1200 } });
      // Trained and judged on the same 20 slices: the order must be learnt.
      expect(done.rho).toBeGreaterThan(0.9);

      const scored: FromWorker[] = [];
      await runScore(pacs, { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, model: { kind: 'files', files: picked(dir) } }, (m) => scored.push(m));
      const result = scored.find((m) => m.type === 'scored');
      if (result?.type !== 'scored') throw new Error('no scores');
      expect(result.rho).toBeCloseTo(done.rho, 6);
      expect(result.order.some((f) => f.kind === 'reversed' || f.kind === 'inconclusive')).toBe(false);

      // Matching the series to itself as the reference: each slice (with its neighbours) lands on itself or next to it.
      const matched: FromWorker[] = [];
      const ref = { referenceStudyInstanceUID: BRAIN.study, referenceSeriesInstanceUID: BRAIN.series };
      await runMatch(pacs, { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, ...ref, model: { kind: 'files', files: picked(dir) } }, (m) => matched.push(m));
      const match = matched.find((m) => m.type === 'matched');
      if (match?.type !== 'matched') throw new Error(`no match: ${JSON.stringify(matched)}`);
      expect(match.referenceRho).toBeGreaterThan(0.9);
      const { series } = await loadSeries(pacs, BRAIN.study, BRAIN.series);
      const offsets = match.matches.map((m) => Math.abs(series.sopInstanceUIDs.indexOf(m.referenceSopInstanceUID) - series.sopInstanceUIDs.indexOf(m.sopInstanceUID)));
      expect(match.matches.map((m) => m.sopInstanceUID)).toEqual(series.sopInstanceUIDs);
      expect(offsets.sort((a, b) => a - b)[Math.floor(offsets.length / 2)]).toBeLessThanOrEqual(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('refuses too short a series for the draw, in plain words', async () => {
    const job = { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, size: 32, window: { center: 300, width: 1200 }, steps: 1, slicesPerVolume: 21, volumesPerBatch: 1, learningRate: 1e-3, seed: 1 };
    await expect(runPretrain(pacs, job, () => {}, () => Promise.reject(new Error('not reached')))).rejects.toThrow('this series has 20 axial slice(s); pre-training draws 21 at a time');
  }, 60_000);
});

describe('failures the panel shows in plain words', () => {
  it('Orthanc unreachable → "cannot be reached … Nothing you annotated is lost"', async () => {
    // A port nothing listens on (the server is closed before use): a real refused connection.
    const server = createServer();
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((ok) => server.close(() => ok()));
    const down = new PacsClient({ baseUrl: `http://127.0.0.1:${port}`, retries: 0 });
    const error = await runExport(down, { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, slices: [], classes: [{ value: 1, name: 'head' }] }, () => {}).catch((e: unknown) => e);
    expect(plainError(error)).toMatch(/^The PACS \(Orthanc\) cannot be reached\. Nothing you annotated is lost\. Try again when it is back\. \(.*127\.0\.0\.1/);
  }, 60_000);

  it('a model without a score head, and files that are no model, are refused naming why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tomosort-proj-'));
    try {
      const model = createModel(projectionModelSpec(encoderSpec('small')), { seed: 1 });
      await saveModelToDir(model, { method: 'simclr', inputSize: 32, plane: 'axial', huWindow: { center: 40, width: 400 }, sliceSpacingMm: 5, steps: 1, metrics: {} }, dir);
      model.dispose();
      const job = { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series };
      await expect(runScore(pacs, { ...job, model: { kind: 'files', files: picked(dir) } }, () => {})).rejects.toThrow('the model is a projection model (simclr); localization needs one with a slice-score head (SortingLoss)');
      const notModel = await runScore(pacs, { ...job, model: { kind: 'files', files: [new File(['{}'], 'notes.json')] } }, () => {}).catch((e: unknown) => e);
      expect(plainError(notModel)).toBe('This model cannot be used: notes.json has no weightsManifest: it is not a tfjs model.json. Nothing you annotated is lost.');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
