import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@tomosort/backend/node';
import { readSegmentation } from '@tomosort/dicom';
import { PacsClient, fetchSeriesFiles } from '@tomosort/pacs';
import { startOrthanc } from '@tomosort/pacs/local';
import type { LocalOrthanc } from '@tomosort/pacs/local';
import { BRAIN, readBytes, sha256 } from '@tomosort/pacs/testing';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, encoderSpec, expectKind, scoreModelSpec } from '@tomosort/models';
import { saveModelToDir } from '@tomosort/models/node';
import { loadSeries, runExport, runFinetune, runScore } from './jobs';
import type { FromWorker, SliceLabels } from './protocol';

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
      { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, annotated, classes: [{ value: 1, name: 'head' }], modelUrl: null, size: 32, window: { center: 300, width: 1200 }, frozenSteps: 4, steps: 4, batch: 3, learningRate: 3e-3, seed: 1 },
      (m) => messages.push(m),
    );
    const progress = messages.filter((m) => m.type === 'progress');
    expect(progress.map((m) => m.phase)).toEqual([...Array(4).fill('frozen'), ...Array(4).fill('full')]);
    const predicted = messages.find((m) => m.type === 'predicted');
    if (predicted?.type !== 'predicted') throw new Error(`no prediction: ${JSON.stringify(messages.filter((m) => m.type !== 'progress'))}`);
    expect(predicted.steps).toBe(8);
    const annotatedUids = new Set(annotated.map((a) => a.sopInstanceUID));
    for (const s of predicted.slices) {
      expect(annotatedUids.has(s.sopInstanceUID)).toBe(false);
      expect(s.labels).toHaveLength(plane);
    }

    const exported: FromWorker[] = [];
    await runExport(pacs, { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, slices: [...annotated, ...predicted.slices], classes: [{ value: 1, name: 'head' }] }, (m) => exported.push(m));
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
    expect(await hash()).toBe(before);
  }, 180_000);

  it('refuses a job with no annotated slice, and a slice of another series, in plain words', async () => {
    const job = { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, classes: [{ value: 1, name: 'head' }], modelUrl: null, size: 32, window: { center: 300, width: 1200 }, frozenSteps: 1, steps: 1, batch: 1, learningRate: 1e-3, seed: 1 };
    await expect(runFinetune(pacs, { ...job, annotated: [] }, () => {})).rejects.toThrow('no annotated slice');
    await expect(runFinetune(pacs, { ...job, annotated: [{ sopInstanceUID: '1.2.3', labels: new Uint8Array(4) }] }, () => {})).rejects.toThrow(`slice 1.2.3 is not an instance of series ${BRAIN.series}`);
  }, 60_000);
});

describe('the worker’s score job (a SortingLoss model over HTTP, the real MR)', () => {
  it('scores every axial slice by SOP instance and reports ρ and the order check', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tomosort-score-'));
    const model = createModel(scoreModelSpec(encoderSpec('small')), { seed: 3 });
    await saveModelToDir(expectKind(model, 'score'), { method: 'sorting', inputSize: 32, huWindow: { center: 300, width: 1200 }, sliceSpacingMm: 5, steps: 1, metrics: {} }, dir);
    model.dispose();
    // A plain static file server: the model store as the browser sees it.
    const server = createServer((req, res) => res.end(readFileSync(join(dir, (req.url ?? '/').slice(1)))));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as { port: number }).port;
    try {
      const messages: FromWorker[] = [];
      await runScore(pacs, { studyInstanceUID: BRAIN.study, seriesInstanceUID: BRAIN.series, modelUrl: `http://127.0.0.1:${port}/model.json` }, (m) => messages.push(m));
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
