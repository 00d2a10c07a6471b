import { readSeries, writeSegmentation } from '@tomosort/dicom';
import type { DicomInput, SeriesVolume } from '@tomosort/dicom';
import { checkSliceOrder, scoreVolume } from '@tomosort/localize';
import { spearman } from '@tomosort/losses';
import { createModel, encoderSpec, expectKind, loadModel, scoreModelSpec, unetFromEncoder } from '@tomosort/models';
import { prepareVolume } from '@tomosort/pretext';
import type { Model } from '@tomosort/models';
import { fetchSeriesFiles, seriesUid, studyUid } from '@tomosort/pacs';
import type { PacsClient } from '@tomosort/pacs';
import { finetune, predictVolume, prepareAnnotation } from '@tomosort/segment';
import { asTrainable } from '@tomosort/train';
import { createVolume } from '@tomosort/volume';
import type { Volume } from '@tomosort/volume';
import type { ExportJob, FinetuneJob, FromWorker, ScoreJob, SliceLabels } from './protocol';

/**
 * The work the training worker does, as plain functions over a PACS client (same-origin
 * DICOMweb in the browser, a real Orthanc in tests): load the series, fine-tune on the
 * annotated slices, predict the others, write and store the SEG.
 */

export interface LoadedSeries {
  readonly series: SeriesVolume;
  readonly files: readonly DicomInput[];
}

/** The series' instances through WADO-RS, assembled into a volume (slices by position). */
export async function loadSeries(pacs: PacsClient, study: string, series: string): Promise<LoadedSeries> {
  const files = await fetchSeriesFiles(pacs, studyUid(study), seriesUid(series));
  return { series: readSeries(files), files };
}

/** A label volume on the series' grid holding `slices` (by SOP instance); the k indices filled. */
export function labelVolume(series: SeriesVolume, slices: readonly SliceLabels[]): { labels: Volume<Uint8Array>; filled: number[] } {
  const v = series.volume;
  const plane = v.dims[0] * v.dims[1];
  const data = new Uint8Array(plane * v.dims[2]);
  const index = new Map(series.sopInstanceUIDs.map((uid, k) => [uid, k]));
  const filled: number[] = [];
  for (const s of slices) {
    const k = index.get(s.sopInstanceUID);
    if (k === undefined) throw new Error(`slice ${s.sopInstanceUID} is not an instance of series ${series.seriesInstanceUID}`);
    if (s.labels.length !== plane) throw new Error(`slice ${s.sopInstanceUID}: ${s.labels.length} label values for a ${v.dims[0]}×${v.dims[1]} image`);
    data.set(s.labels, k * plane);
    filled.push(k);
  }
  return { labels: createVolume({ dims: v.dims, spacing: v.spacing, origin: v.origin, direction: v.direction, data, modality: 'SEG' }), filled: filled.sort((a, b) => a - b) };
}

/** The slices of a label volume that hold any label, by SOP instance. */
export function slicesOf(series: SeriesVolume, labels: Volume<Uint8Array>, skip: ReadonlySet<number> = new Set()): SliceLabels[] {
  const plane = labels.dims[0] * labels.dims[1];
  const out: SliceLabels[] = [];
  for (let k = 0; k < labels.dims[2]; k++) {
    if (skip.has(k)) continue;
    const slice = labels.data.slice(k * plane, (k + 1) * plane);
    if (slice.some((x) => x !== 0)) out.push({ sopInstanceUID: series.sopInstanceUIDs[k]!, labels: slice });
  }
  return out;
}

async function startingModel(job: FinetuneJob): Promise<Model> {
  if (job.modelUrl === null) return createModel(scoreModelSpec(encoderSpec('small')), { seed: job.seed });
  return (await loadModel(job.modelUrl)).model;
}

/**
 * Fine-tunes encoder + U-Net on the annotated slices (frozen warm-up, then full), then predicts
 * every slice that was not annotated. Progress and the result go through `post`.
 */
export async function runFinetune(pacs: PacsClient, job: FinetuneJob, post: (m: FromWorker) => void, signal?: AbortSignal): Promise<void> {
  post({ type: 'status', message: 'Loading the series from the PACS…' });
  const { series } = await loadSeries(pacs, job.studyInstanceUID, job.seriesInstanceUID);
  const { labels, filled } = labelVolume(series, job.annotated);
  if (filled.length === 0) throw new Error('no annotated slice: draw on at least one slice first');
  const source = await startingModel(job);
  const window = job.window;
  const unet = unetFromEncoder(source, { classes: job.classes.length + 1, seed: job.seed });
  source.dispose();
  const net = asTrainable(unet);
  try {
    const data = [prepareAnnotation({ id: job.seriesInstanceUID, volume: series.volume, labels, slices: filled }, job.size, job.classes)];
    post({ type: 'status', message: `Fine-tuning on ${filled.length} annotated slice(s)…` });
    const t0 = performance.now();
    const result = await finetune({
      model: net,
      data,
      config: { window, batch: job.batch, frozenSteps: job.frozenSteps, steps: job.steps, learningRate: job.learningRate, seed: job.seed },
      ...(signal ? { signal } : {}),
      onEvent: (phase, e) => {
        if (e.type === 'step') {
          post({ type: 'progress', phase, step: e.step, steps: e.steps, loss: e.loss, etaSeconds: e.etaSeconds, stepsPerSecond: e.ms > 0 ? 1000 / e.ms : 0 });
        }
      },
    });
    const trainSeconds = (performance.now() - t0) / 1000;
    post({ type: 'status', message: 'Predicting the other slices…' });
    const predicted = await predictVolume(net, series.volume, { size: job.size, window, classes: job.classes });
    post({
      type: 'predicted',
      slices: slicesOf(series, predicted, new Set(filled)),
      trainSeconds,
      seconds: (performance.now() - t0) / 1000,
      steps: result.losses.length,
      cancelled: result.status === 'cancelled',
    });
  } finally {
    unet.dispose();
  }
}

/** Writes the labelled slices as a DICOM SEG referencing the series and stores it (STOW-RS) as a new series. */
export async function runExport(pacs: PacsClient, job: ExportJob, post: (m: FromWorker) => void): Promise<void> {
  post({ type: 'status', message: 'Writing the DICOM SEG…' });
  const { series, files } = await loadSeries(pacs, job.studyInstanceUID, job.seriesInstanceUID);
  const { labels, filled } = labelVolume(series, job.slices);
  if (filled.length === 0) throw new Error('nothing to export: no slice holds a label');
  const seg = writeSegmentation({
    source: series,
    sourceInstances: files,
    labelmap: labels,
    segments: job.classes.map((c) => ({ labelValue: c.value, label: c.name, algorithmType: 'SEMIAUTOMATIC', algorithmName: 'tomosort sparse annotation' })),
    seriesDescription: `tomosort sparse annotation (${job.classes.map((c) => c.name).join(', ')})`,
  });
  post({ type: 'status', message: 'Storing the SEG in the PACS…' });
  await pacs.storeInstances([new Uint8Array(seg.bytes)], studyUid(job.studyInstanceUID));
  post({ type: 'exported', seriesInstanceUID: seg.seriesInstanceUID, sopInstanceUID: seg.sopInstanceUID, frames: seg.frames });
}

/**
 * Scores every axial slice of the series with a SortingLoss model and checks the order its
 * geometry claims (reversed, shuffled, missing; inconclusive when the scores are too loose).
 */
export async function runScore(pacs: PacsClient, job: ScoreJob, post: (m: FromWorker) => void): Promise<void> {
  post({ type: 'status', message: 'Scoring the slices…' });
  const { model, manifest } = await loadModel(job.modelUrl);
  if (model.spec.kind !== 'score') {
    model.dispose();
    throw new Error(`the model is a ${model.spec.kind} model (${manifest.method}); localization needs one with a slice-score head (SortingLoss)`);
  }
  const net = expectKind(model, 'score');
  try {
    const { series } = await loadSeries(pacs, job.studyInstanceUID, job.seriesInstanceUID);
    const prepared = prepareVolume(job.seriesInstanceUID, series.volume, { plane: 'axial', size: manifest.inputSize });
    const { positionsMm, scores } = await scoreVolume({ apply: (x, training) => net.apply(x, { training }) }, prepared, manifest.huWindow);
    // Axial slices in position order are the series' instances only when the series is axial.
    const axial = prepared.slices === series.volume.dims[2];
    post({
      type: 'scored',
      scores: Array.from(scores, (score, k) => ({ sopInstanceUID: axial ? series.sopInstanceUIDs[k]! : '', score, positionMm: positionsMm[k]! })),
      rho: spearman(scores, positionsMm),
      order: checkSliceOrder(positionsMm, scores),
    });
  } finally {
    net.dispose();
  }
}
