import * as tf from '@tensorflow/tfjs-core';
import { countWebGpuWork, profileSecondStep, secondStepWork, webGpuKernelsInUse } from '@tomosort/backend';
import type { WebGpuWork } from '@tomosort/backend';
import { readSegmentation, readSeriesAsync, writeSegmentation } from '@tomosort/dicom';
import type { DicomInput, SeriesVolume } from '@tomosort/dicom';
import { checkSliceOrder, fitScoreMap, localizeStack, scoreVolume } from '@tomosort/localize';
import { spearman } from '@tomosort/losses';
import { createModel, encoderSpec, expectKind, filesHandler, forwardCost, loadModel, manifestPlane, scoreModelSpec, unetFromEncoder, unetModelSpec } from '@tomosort/models';
import { fitMmPerPixel, prepareVolume, sortingAugmentationFor } from '@tomosort/pretext';
import type { LoadedModel, ManifestInit, Model, ModelManifest, ModelSpec } from '@tomosort/models';
import { fetchSeriesFiles, seriesUid, studyUid } from '@tomosort/pacs';
import { phantomSubject } from '@tomosort/samples';
import type { PacsClient } from '@tomosort/pacs';
import { checkFinetuneSettings, defaultCropDepth, estimateQuality, finetune, interpolationQuality, predictVolume, prepareAnnotation, prepareVolumeAnnotation, unetFolds } from '@tomosort/segment';
import type { FinetuneConfig, FinetuneOptions, FinetuneResult, PreparedAnnotation, ReformatPlane, SegmentClass, SparseAnnotation } from '@tomosort/segment';
import { asTrainable, train } from '@tomosort/train';
import type { TrainEvent } from '@tomosort/train';
import { DEFAULT_INTENSITY, PLANE_FRAMES, axisMapping, createVolume, describeIntensity } from '@tomosort/volume';
import type { Volume } from '@tomosort/volume';
import type { BenchmarkJob, BenchmarkWebGpu, ExportJob, FinetuneJob, InterpolationQualityMessage, JobClass, QualityMessage, FromWorker, ListSegsJob, LoadSegJob, MatchJob, ModelRef, ModelSummary, PretrainJob, ReformattedLabels, ScoreJob, SegSummary, SliceLabels, SliceMatch, TrainingCompute } from './protocol';
import { AnnotationError, ModelChoiceError, StepMissingError } from '../errors';
import { DEFAULT_QUALITY_FOLDS } from './protocol';
import { writePlane } from '../planes';
import { finetuneOnReplicas, replicasLabel } from './replicaPool';
import type { ReplicaSettings } from './replicaPool';

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
  return { series: await readSeriesAsync(files), files };
}

/** The most a wasm32 heap can hold: the ceiling of the worker's CPU backend. */
const WASM_MEMORY_BYTES = 4 * 2 ** 30;

/** A label volume on the series' grid holding `slices` (by SOP instance); the k indices filled. */
export function labelVolume(series: SeriesVolume, slices: readonly SliceLabels[]): { labels: Volume<Uint8Array>; filled: number[] } {
  const v = series.volume;
  const plane = v.dims[0] * v.dims[1];
  const data = new Uint8Array(plane * v.dims[2]);
  const index = new Map(series.sopInstanceUIDs.map((uid, k) => [uid, k]));
  const filled: number[] = [];
  for (const s of slices) {
    const k = index.get(s.sopInstanceUID);
    if (k === undefined) throw new AnnotationError(`slice ${s.sopInstanceUID} is not an instance of series ${series.seriesInstanceUID}`, { sopInstanceUID: s.sopInstanceUID, seriesInstanceUID: series.seriesInstanceUID });
    if (s.labels.length !== plane) throw new AnnotationError(`slice ${s.sopInstanceUID}: ${s.labels.length} label values for a ${v.dims[0]}×${v.dims[1]} image`, { sopInstanceUID: s.sopInstanceUID, seriesInstanceUID: series.seriesInstanceUID });
    data.set(s.labels, k * plane);
    filled.push(k);
  }
  return { labels: createVolume({ dims: v.dims, spacing: v.spacing, origin: v.origin, direction: v.direction, data, modality: 'SEG' }), filled: filled.sort((a, b) => a - b) };
}

/**
 * Writes reformatted planes into a label volume on the series' grid; returns them as the segment
 * package's reformats. The plane's rows are matched to slices by SOP instance.
 */
export function writeReformats(series: SeriesVolume, labels: Volume<Uint8Array>, planes: readonly ReformattedLabels[]): ReformatPlane[] {
  const [nx, ny, nz] = labels.dims;
  const index = new Map(series.sopInstanceUIDs.map((uid, k) => [uid, k]));
  return planes.map((p) => {
    const width = p.axis === 1 ? nx : ny;
    const context = { seriesInstanceUID: series.seriesInstanceUID, plane: `${p.axis === 1 ? 'row' : 'column'} ${p.index}` };
    if (!Number.isInteger(p.index) || p.index < 0 || p.index >= (p.axis === 1 ? ny : nx)) throw new AnnotationError(`reformatted plane ${context.plane} is outside this ${nx}×${ny} image`, context);
    if (p.labels.length !== width * p.sopInstanceUIDs.length || p.sopInstanceUIDs.length !== nz) {
      throw new AnnotationError(`reformatted plane ${context.plane}: ${p.labels.length} label values over ${p.sopInstanceUIDs.length} slice(s), the series has ${nz} slices of ${nx}×${ny}`, context);
    }
    const ks = p.sopInstanceUIDs.map((uid) => {
      const k = index.get(uid);
      if (k === undefined) throw new AnnotationError(`slice ${uid} is not an instance of series ${series.seriesInstanceUID}`, { ...context, sopInstanceUID: uid });
      return k;
    });
    // Row r of the plane's image is slice ks[r] of the volume.
    writePlane({ columns: nx, rows: ny, slices: ks }, p, p.labels, (row, n, v) => (labels.data[n + nx * ny * ks[row]!] = v));
    return { axis: p.axis, index: p.index };
  });
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

/** Loads a model from the store (URL), this browser (indexeddb://) or picked files. */
export function openModel(ref: ModelRef): Promise<LoadedModel> {
  return loadModel(ref.kind === 'url' ? ref.url : filesHandler(ref.files));
}

/** What the panel shows of a manifest. */
export function summarize(manifest: ModelManifest): ModelSummary {
  const a = manifest.architecture;
  return { method: manifest.method, kind: a.kind, encoder: a.encoder.name, inputSize: manifest.inputSize, huWindow: manifest.huWindow, steps: manifest.steps };
}

/** A training step as the panel's progress message (other events are not shown). */
function postProgress(post: (m: FromWorker) => void, phase: string, e: TrainEvent): void {
  if (e.type === 'step') post({ type: 'progress', phase, step: e.step, steps: e.steps, loss: e.loss, etaSeconds: e.etaSeconds, stepsPerSecond: e.ms > 0 ? 1000 / e.ms : 0 });
}

async function startingModel(job: FinetuneJob, volume: Volume): Promise<{ model: Model; size: number; window: { center: number; width: number }; mmPerPixel: number | undefined; intensity: ModelManifest['intensity']; cropDepth?: number | undefined }> {
  if (job.model === null) {
    // From scratch: the series' own field of view fits the input.
    return { model: createModel(scoreModelSpec(encoderSpec('small')), { seed: job.seed }), size: job.size, window: job.window, mmPerPixel: fitMmPerPixel(volume, undefined, job.size), intensity: DEFAULT_INTENSITY };
  }
  const { model, manifest } = await openModel(job.model);
  // A pre-trained encoder saw slices at its own size, physical scale and window: fine-tune it on the same.
  return { model, size: manifest.inputSize, window: manifest.huWindow, mmPerPixel: manifest.mmPerPixel, intensity: manifest.intensity, cropDepth: manifest.cropDepth };
}

/** Contour interpolation of a sparse annotation (`interpolateWith` of @tomosort/segment on the platform's ITK build). */
export type Interpolate = (a: SparseAnnotation, classes: readonly SegmentClass[]) => Promise<Volume<Uint8Array>>;

/** What a fine-tuning job runs with besides its PACS. */
export interface FinetuneTools {
  readonly interpolate: Interpolate;
  /** The worker's backend line, for the job's compute figures. */
  readonly backend: string;
  readonly signal?: AbortSignal;
  /** Data-parallel replicas for fine-tuning on wasm, 2D or 3D (absent or count 1: this worker alone). */
  readonly replicas?: ReplicaSettings;
}

/** `finetune`, on the worker's replicas when it has them and the job can use them (wasm); else here alone. */
function finetuneHere(model: Model, opts: FinetuneOptions, replicas: ReplicaSettings | undefined): Promise<FinetuneResult & { readonly waitedMs?: readonly number[] }> {
  // No more replicas than slices (3D: crops) a step: each needs a shard.
  const count = Math.min(replicas?.count ?? 1, opts.config.batch);
  const use = replicas !== undefined && count > 1 && tf.getBackend() === 'wasm';
  return use ? finetuneOnReplicas(model, opts, { ...replicas, count }) : finetune(opts);
}

/**
 * Fine-tunes encoder + U-Net on the annotated slices (frozen warm-up, then full), then predicts
 * every slice that was not annotated. Progress and the result go through `post`.
 */
export async function runFinetune(pacs: PacsClient, job: FinetuneJob, post: (m: FromWorker) => void, { interpolate, backend, signal, replicas }: FinetuneTools): Promise<void> {
  post({ type: 'status', message: 'Loading the series from the PACS…' });
  const { series } = await loadSeries(pacs, job.studyInstanceUID, job.seriesInstanceUID);
  const { labels, filled } = labelVolume(series, job.annotated);
  const reformats = writeReformats(series, labels, job.reformats ?? []);
  if (filled.length === 0 && reformats.length === 0) throw new StepMissingError('finetune', 'no annotated slice: draw on at least one slice first');
  // A label never drawn is neither trained nor predicted (its channel would learn "never here").
  const classes = held(job.classes, labels);
  const unused = job.classes.filter((c) => !classes.includes(c));
  if (classes.length === 0) throw new StepMissingError('finetune', `no label is drawn on the annotated slices (${job.classes.map((c) => c.name).join(', ')}): draw one first`);
  if (unused.length > 0) post({ type: 'status', message: `Not trained (never drawn): ${unused.map((c) => c.name).join(', ')}` });
  const { model: source, size, window, mmPerPixel, intensity, cropDepth } = await startingModel(job, series.volume);
  // A 3D encoder (rotation3d, …, CSPR) fine-tunes as a 3D U-Net on crops of consecutive slices, the loss on the annotated ones.
  const depth = source.spec.encoder.dims === 3 ? defaultCropDepth(source.spec.encoder, cropDepth) : undefined;
  const input = { mmPerPixel, window, intensity };
  // Said before training: an MR's values are normalised by its own percentiles, never windowed as HU.
  const intensityWords = describeIntensity(series.volume, window, intensity);
  post({ type: 'status', message: `Intensities: ${intensityWords}.` });
  const unet = unetFromEncoder(source, { classes: classes.length + 1, seed: job.seed });
  source.dispose();
  const net = asTrainable(unet);
  try {
    // Before anything large is allocated: wasm32 holds at most 4 GiB, and the browser backends keep composite ops' intermediates.
    // The estimate is the 2D U-Net's; a 3D one's crops are checked by its task (depth ≤ the series' slices).
    if (depth === undefined) checkFinetuneSettings({ size, batch: job.batch, frozenSteps: job.frozenSteps, steps: job.steps, spec: unet.spec, memoryLimitBytes: WASM_MEMORY_BYTES, fused: false });
    const annotation: SparseAnnotation = { id: job.seriesInstanceUID, volume: series.volume, labels, slices: filled, reformats };
    const data = [depth === undefined ? prepareAnnotation(annotation, size, classes, input) : prepareVolumeAnnotation(annotation, size, classes, input)];
    post({ type: 'status', message: `Fine-tuning ${depth === undefined ? '' : `a 3D U-Net on crops of ${depth} slices `}on ${filled.length} annotated slice(s)${reformats.length > 0 ? ` and ${reformats.length} reformatted plane(s)` : ''}…` });
    const t0 = performance.now();
    const config = { window, batch: job.batch, ...(depth === undefined ? {} : { depth }), frozenSteps: job.frozenSteps, steps: job.steps, learningRate: job.learningRate, seed: job.seed };
    const meter = computeMeter(unet.spec, depth === undefined ? size : [depth, size, size], job.batch);
    const result = await (async () => {
      try {
        return await finetuneHere(unet, {
          model: net,
          data,
          config,
          readEvery: readEvery(),
          ...(signal ? { signal } : {}),
          onEvent: (phase, e) => {
            meter.onEvent(phase, e);
            postProgress(post, phase, e);
          },
        }, replicas);
      } finally {
        meter.stop();
      }
    })();
    const compute = meter.result(replicasLabel(backend, result.waitedMs?.length ?? 1));
    const trainSeconds = (performance.now() - t0) / 1000;
    const tq = performance.now();
    const quality: QualityMessage =
      depth === undefined
        ? await estimate(job, data[0]!, classes, config, signal, post, async () => (await startingModel(job, series.volume)).model, () => interpolationEstimate(job, annotation, classes, interpolate, signal, post), replicas)
        : { kind: 'skipped', reason: '3d' };
    const qualitySeconds = (performance.now() - tq) / 1000;
    post({ type: 'status', message: 'Predicting the other slices…' });
    const predicted = await predictVolume(net, series.volume, {
      size,
      ...input,
      classes,
      ...(depth === undefined ? {} : { depth }),
      onProgress: (done, total) => done < total && post({ type: 'status', message: `Predicting the other slices… ${done} of ${total} done` }),
    });
    post({
      type: 'predicted',
      slices: slicesOf(series, predicted, new Set(filled)),
      trainSeconds,
      seconds: (performance.now() - t0) / 1000,
      steps: result.losses.length,
      cancelled: result.status === 'cancelled',
      quality,
      qualitySeconds,
      size,
      intensity: intensityWords,
      compute,
    });
  } finally {
    unet.dispose();
  }
}

const median = (xs: readonly number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Measures a fine-tuning run as it goes: the full steps' wall times and, on WebGPU, the work it
 * records (`countWebGpuWork`, stopped by `stop`). `size` is the model's input: a side, or
 * [depth, side, side] for a 3D U-Net's crops.
 */
function computeMeter(spec: ModelSpec, size: number | readonly [number, number, number], batch: number) {
  const counter = tf.getBackend() === 'webgpu' ? countWebGpuWork() : undefined;
  const fullMs: number[] = [];
  let steps = 0;
  let work: WebGpuWork | undefined;
  return {
    onEvent(phase: string, e: TrainEvent): void {
      if (e.type !== 'step') return;
      steps++;
      if (phase === 'full') fullMs.push(e.ms);
    },
    stop(): void {
      if (!counter) return;
      work = counter.read();
      counter.stop();
    },
    /** `ran`: the backend line of the run (with the replicas it used). */
    result(ran: string): TrainingCompute {
      const gflopPerStep = (3 * forwardCost(spec, size).flops * batch) / 1e9;
      const webgpu = work && steps > 0 ? { dispatchesPerStep: work.dispatches / steps, readbacksPerStep: work.readbacks / steps, peakGpuBytes: work.peakGpuBytes } : undefined;
      return { backend: ran, msPerStep: median(fullMs), gflopPerStep, ...(webgpu ? { webgpu } : {}) };
    },
  };
}

/**
 * The job's quality estimate (`estimateQuality`: each fold fine-tunes the same starting model
 * exactly as the run did, on the other annotated planes), or why there is none.
 */
async function estimate(
  job: FinetuneJob,
  data: PreparedAnnotation,
  classes: readonly JobClass[],
  config: FinetuneConfig,
  signal: AbortSignal | undefined,
  post: (m: FromWorker) => void,
  startFrom: () => Promise<Model>,
  interpolation: () => Promise<InterpolationQualityMessage>,
  replicas: ReplicaSettings | undefined,
): Promise<QualityMessage> {
  const folds = job.qualityFolds ?? DEFAULT_QUALITY_FOLDS;
  const planes = data.targets.length / (data.size * data.size);
  if (folds < 2) return { kind: 'skipped', reason: 'off' };
  if (planes < 2) return { kind: 'skipped', reason: 'one-plane' };
  if (signal?.aborted) return { kind: 'skipped', reason: 'cancelled' };
  const q = await estimateQuality({
    data,
    classes,
    config,
    folds,
    ...(signal ? { signal } : {}),
    makeModel: unetFolds(startFrom, classes.length, job.seed),
    // The folds are most of a run's work: on the worker's replicas too, when it has them.
    run: (fold, o) => (fold.model ? finetuneHere(fold.model, o, replicas) : finetune(o)),
    onFold: (f, n) => post({ type: 'status', message: `Quality estimate: fold ${f + 1} of ${n} (trains again without ${n === planes ? 'one annotated plane' : 'a share of the annotated planes'})…` }),
    onEvent: (_phase, e) => postProgress(post, 'quality', e),
  });
  if (!q) return { kind: 'skipped', reason: 'cancelled' };
  return { kind: 'estimated', ...q, interpolation: await interpolation() };
}

/** Contour interpolation (what OHIF offers) scored by the same folds over the acquired slices, or why not. */
async function interpolationEstimate(
  job: FinetuneJob,
  annotation: SparseAnnotation,
  classes: readonly JobClass[],
  interpolate: Interpolate,
  signal: AbortSignal | undefined,
  post: (m: FromWorker) => void,
): Promise<InterpolationQualityMessage> {
  if (annotation.slices.length < 2) return { kind: 'skipped', reason: 'few-slices' };
  post({ type: 'status', message: 'Quality estimate: contour interpolation of the same folds…' });
  const q = await interpolationQuality({ annotation, classes, interpolate, folds: job.qualityFolds ?? DEFAULT_QUALITY_FOLDS, ...(signal ? { signal } : {}) });
  return q ? { kind: 'estimated', ...q } : { kind: 'skipped', reason: 'cancelled' };
}

/**
 * Steps between loss readbacks: on WebGPU each readback drains the queue, so the GPU would idle
 * while the next step is recorded; 4 keeps the panel's loss chart lively. Elsewhere 1.
 */
const GPU_READ_EVERY = 4;
function readEvery(): number {
  return tf.getBackend() === 'webgpu' ? GPU_READ_EVERY : 1;
}

/** Annotated slices of the benchmark's phantom, spread along it. */
const BENCHMARK_SLICES = 5;

/**
 * Times fine-tuning steps of the viewer's scratch U-Net (small encoder; with `depth`, a 3D U-Net
 * on crops) on a synthetic phantom's body mask: identical work for a given job, whatever the backend or thread count, so both the
 * speed and the losses can be compared across them.
 */
export async function runBenchmark(job: BenchmarkJob, backend: string, post: (m: FromWorker) => void, signal?: AbortSignal, replicas?: ReplicaSettings): Promise<void> {
  const subject = phantomSubject(0, job.seed, { size: job.size });
  const body = subject.labels.data.map((v) => (v === 0 ? 0 : 1));
  const depth = subject.volume.dims[2];
  const slices = Array.from({ length: BENCHMARK_SLICES }, (_, i) => Math.floor(((i + 0.5) * depth) / BENCHMARK_SLICES));
  const classes = [{ value: 1, name: 'body' }];
  const window = { center: 40, width: 400 };
  const annotation = { id: subject.id, volume: subject.volume, labels: { ...subject.labels, data: body }, slices };
  const data = job.depth === undefined ? [prepareAnnotation(annotation, job.size, classes, { window })] : [prepareVolumeAnnotation(annotation, job.size, classes, { window })];
  const buildUnet = () => {
    if (job.depth !== undefined) return createModel(unetModelSpec(encoderSpec('unet-down', { dims: 3, width: 0.5 }), { classes: 2 }), { seed: job.seed });
    const encoder = createModel(scoreModelSpec(encoderSpec('small')), { seed: job.seed });
    const u = unetFromEncoder(encoder, { classes: 2, seed: job.seed });
    encoder.dispose();
    return u;
  };
  const config = (steps: number) => ({ window, batch: job.batch, frozenSteps: 0, steps, learningRate: 1e-3, seed: job.seed, ...(job.depth === undefined ? {} : { depth: job.depth }) });
  const gpu = tf.getBackend() === 'webgpu';
  if (gpu) {
    // Steps are read (and timed) in blocks on WebGPU, so the pipelines' first compile would be
    // spread over the first block: a throwaway copy compiles them first, the measured net untouched.
    const warm = buildUnet();
    await finetune({ model: asTrainable(warm), data, config: config(1) }).finally(() => warm.dispose());
  }
  const unet = buildUnet();
  try {
    const net = asTrainable(unet);
    const msPerStep: number[] = [];
    const counter = gpu ? countWebGpuWork() : undefined;
    let webgpu: BenchmarkWebGpu | undefined;
    try {
      const result = await finetuneHere(unet, {
        model: net,
        data,
        config: config(job.steps),
        readEvery: readEvery(),
        ...(signal ? { signal } : {}),
        onEvent: (phase, e) => {
          if (e.type === 'step') msPerStep.push(e.ms);
          postProgress(post, phase, e);
        },
      }, replicas);
      if (counter && result.status === 'finished') {
        const whole = counter.read();
        const step = await secondStepWork(counter, (onStep) => finetune({ model: net, data, config: config(2), onEvent: (_, e) => e.type === 'step' && onStep(e.step) }));
        webgpu = { kernels: webGpuKernelsInUse(), readEvery: readEvery(), dispatchesPerStep: step.dispatches, readbacksPerStep: step.readbacks, peakGpuBytes: whole.peakGpuBytes };
      }
      const profile =
        // tf.profile sees one thread: a run on replicas is not profiled (its kernels are the 1-thread run's, on shards).
        job.profile && result.status === 'finished' && !result.waitedMs
          ? await profileSecondStep((onStep) => finetune({ model: net, data, config: config(2), onEvent: (_, e) => e.type === 'step' && onStep(e.step, e.ms) }))
          : undefined;
      const waits = result.waitedMs ? { replicaWaitMsPerStep: result.waitedMs.map((ms) => +(ms / Math.max(1, result.losses.length)).toFixed(1)) } : {};
      post({ type: 'benchmarked', backend: replicasLabel(backend, result.waitedMs?.length ?? 1), losses: result.losses, msPerStep, cancelled: result.status === 'cancelled', ...waits, ...(profile ? { profile } : {}), ...(webgpu ? { webgpu } : {}) });
    } finally {
      counter?.stop();
    }
  } finally {
    unet.dispose();
  }
}

/** The classes with at least one voxel in `labels`. */
function held(classes: readonly JobClass[], labels: Volume<Uint8Array>): JobClass[] {
  const present = new Set(labels.data);
  return classes.filter((c) => present.has(c.value));
}

/** Writes the labelled slices as a DICOM SEG referencing the series and stores it (STOW-RS) as a new series. */
export async function runExport(pacs: PacsClient, job: ExportJob, post: (m: FromWorker) => void): Promise<void> {
  post({ type: 'status', message: 'Writing the DICOM SEG…' });
  const { series, files } = await loadSeries(pacs, job.studyInstanceUID, job.seriesInstanceUID);
  const { labels, filled } = labelVolume(series, job.slices);
  if (filled.length === 0) throw new StepMissingError('export', 'nothing to export: no slice holds a label');
  const seg = writeSegmentation({
    source: series,
    sourceInstances: files,
    labelmap: labels,
    // Every given slice gets a frame per label, even an empty one: "annotated, absent here".
    slices: filled,
    segments: job.classes.map((c) => ({ labelValue: c.value, label: c.name, algorithmType: 'SEMIAUTOMATIC', algorithmName: 'tomosort sparse annotation' })),
    // Named by the labels it holds: a label never drawn is not in the SEG.
    seriesDescription: `tomosort sparse annotation (${held(job.classes, labels).map((c) => c.name).join(', ')})`,
  });
  post({ type: 'status', message: 'Storing the SEG in the PACS…' });
  await pacs.storeInstances([new Uint8Array(seg.bytes)], studyUid(job.studyInstanceUID));
  post({ type: 'exported', seriesInstanceUID: seg.seriesInstanceUID, sopInstanceUID: seg.sopInstanceUID, frames: seg.frames });
}

/** A SEG of the series, read against it (undefined when it labels another series). */
async function readSegOf(pacs: PacsClient, study: string, series: LoadedSeries, segSeries: string): Promise<ReturnType<typeof readSegmentation> | undefined> {
  const files = await fetchSeriesFiles(pacs, studyUid(study), seriesUid(segSeries));
  for (const f of files) {
    try {
      return readSegmentation(f, series.series);
    } catch (e) {
      // Another series' SEG is not ours to load; anything else about ours is worth saying.
      if (!(e instanceof Error && / references series /.test(e.message))) throw e;
    }
  }
  return undefined;
}

/**
 * The study's SEG series that label this series, newest (highest series number) first; a SEG
 * that cannot be read is listed in `skipped` with its reason instead of failing the list.
 */
export async function runListSegs(pacs: PacsClient, job: ListSegsJob, post: (m: FromWorker) => void): Promise<void> {
  post({ type: 'status', message: 'Looking for stored annotations (DICOM SEG) of this series…' });
  const loaded = await loadSeries(pacs, job.studyInstanceUID, job.seriesInstanceUID);
  const candidates = (await pacs.searchSeries(studyUid(job.studyInstanceUID))).filter((x) => x.modality === 'SEG').sort((a, b) => (b.seriesNumber ?? 0) - (a.seriesNumber ?? 0));
  const segs: SegSummary[] = [];
  const skipped: string[] = [];
  for (const c of candidates) {
    try {
      const seg = await readSegOf(pacs, job.studyInstanceUID, loaded, c.seriesInstanceUID);
      if (seg) segs.push({ seriesInstanceUID: c.seriesInstanceUID, description: c.seriesDescription ?? `SEG series ${c.seriesNumber ?? ''}`.trim(), segments: seg.segments.map((x) => x.label), slices: seg.slices.length });
    } catch (e) {
      skipped.push(`${c.seriesDescription ?? c.seriesInstanceUID}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  post({ type: 'segs', segs, skipped });
}

/** Reads one SEG back as the series' annotation: its segments as labels, its slices by SOP instance. */
export async function runLoadSeg(pacs: PacsClient, job: LoadSegJob, post: (m: FromWorker) => void): Promise<void> {
  post({ type: 'status', message: 'Reading the stored annotation (DICOM SEG)…' });
  const loaded = await loadSeries(pacs, job.studyInstanceUID, job.seriesInstanceUID);
  const seg = await readSegOf(pacs, job.studyInstanceUID, loaded, job.segSeriesInstanceUID);
  if (!seg) throw new AnnotationError(`SEG series ${job.segSeriesInstanceUID} does not label series ${job.seriesInstanceUID}`, { seriesInstanceUID: job.seriesInstanceUID });
  const [nx, ny] = seg.labelmap.dims;
  const plane = nx * ny;
  post({
    type: 'segLoaded',
    segSeriesInstanceUID: job.segSeriesInstanceUID,
    classes: seg.segments.map((x) => ({ value: x.labelValue, name: x.label })),
    slices: seg.slices.map((k) => ({ sopInstanceUID: loaded.series.sopInstanceUIDs[k]!, labels: seg.labelmap.data.slice(k * plane, (k + 1) * plane) })),
  });
}

/**
 * Scores every slice of the series across the model's plane with a SortingLoss model and checks the order its
 * geometry claims (reversed, shuffled, missing; inconclusive when the model cannot tell), blank
 * slices left out.
 */
export async function runScore(pacs: PacsClient, job: ScoreJob, post: (m: FromWorker) => void): Promise<void> {
  post({ type: 'status', message: 'Scoring the slices…' });
  const scorer = await openScorer(job.model);
  try {
    const { positionsMm, scores, blank, sops } = await scoreSeries(pacs, scorer, job.studyInstanceUID, job.seriesInstanceUID);
    const expectedRho = scorer.manifest.metrics.heldOutSpearman;
    const check = checkSliceOrder(positionsMm, scores, { blank, ...(expectedRho === undefined ? {} : { expectedRho }) });
    post({
      type: 'scored',
      scores: Array.from(scores, (score, k) => ({ sopInstanceUID: sops[k]!, score, positionMm: positionsMm[k]! })),
      rho: spearman(scores, positionsMm),
      order: check.findings,
      blankSlices: check.excluded.length,
    });
  } finally {
    scorer.net.dispose();
  }
}

/** Neighbours on each side that join a slice when it is placed in the reference (a 5-slice stack). */
const MATCH_HALF_STACK = 2;

/**
 * Places every slice of the series on screen in a reference series: the reference's scores give a
 * monotone score → position map (refused when they order it too loosely), each slice with its
 * neighbours is localized as a short stack, and the nearest reference slice is reported.
 */
export async function runMatch(pacs: PacsClient, job: MatchJob, post: (m: FromWorker) => void): Promise<void> {
  post({ type: 'status', message: 'Scoring both series…' });
  const scorer = await openScorer(job.model);
  try {
    const ref = await scoreSeries(pacs, scorer, job.referenceStudyInstanceUID, job.referenceSeriesInstanceUID);
    const map = fitScoreMap(ref.positionsMm, ref.scores);
    const here = await scoreSeries(pacs, scorer, job.studyInstanceUID, job.seriesInstanceUID);
    const spacing = here.spacingMm;
    const first = ref.positionsMm[0]!;
    const matches: SliceMatch[] = [];
    for (let k = 0; k < here.scores.length; k++) {
      const lo = Math.max(0, k - MATCH_HALF_STACK);
      const hi = Math.min(here.scores.length, k + MATCH_HALF_STACK + 1);
      const at = localizeStack(map, here.scores.subarray(lo, hi), spacing);
      const mm = at.startMm + (k - lo) * spacing;
      let nearest = 0;
      for (let j = 1; j < ref.positionsMm.length; j++) if (Math.abs(ref.positionsMm[j]! - mm) < Math.abs(ref.positionsMm[nearest]! - mm)) nearest = j;
      matches.push({ sopInstanceUID: here.sops[k]!, referenceSopInstanceUID: ref.sops[nearest]!, mm: mm - first, sdMm: at.sdMm, extrapolated: at.extrapolated });
    }
    post({ type: 'matched', referenceSeriesInstanceUID: job.referenceSeriesInstanceUID, referenceRho: map.rho, matches });
  } finally {
    scorer.net.dispose();
  }
}

interface Scorer {
  readonly net: ReturnType<typeof expectKind<'score'>>;
  readonly manifest: ModelManifest;
}

async function openScorer(ref: ModelRef): Promise<Scorer> {
  const { model, manifest } = await openModel(ref);
  if (model.spec.kind !== 'score') {
    model.dispose();
    throw new ModelChoiceError(`the model is a ${model.spec.kind} model (${manifest.method}); localization needs one with a slice-score head (SortingLoss)`, { model: manifest.method });
  }
  return { net: expectKind(model, 'score'), manifest };
}

/**
 * Scores every slice across the model's pre-training plane (its manifest's; a coronal model scores
 * coronal slices); `sops[k]` is the instance of slice k when the series' own slices are in that
 * plane (in the plane's canonical order, so reversed for a series stored the other way), else ''.
 */
async function scoreSeries(
  pacs: PacsClient,
  { net, manifest }: Scorer,
  study: string,
  seriesUid: string,
): Promise<{ positionsMm: Float32Array; scores: Float32Array; blank: Uint8Array; sops: string[]; spacingMm: number }> {
  const { series } = await loadSeries(pacs, study, seriesUid);
  // A score model always has a plane (axial when saved before planes were recorded).
  const plane = manifestPlane(manifest).plane ?? 'axial';
  const prepared = prepareVolume(seriesUid, series.volume, { plane, size: manifest.inputSize, mmPerPixel: manifest.mmPerPixel, window: manifest.huWindow, intensity: manifest.intensity });
  const { positionsMm, scores, blank } = await scoreVolume({ apply: (x, training) => net.apply(x, { training }) }, prepared, manifest.huWindow);
  const { perm, sign } = axisMapping(series.volume.direction, PLANE_FRAMES[plane]);
  const n = series.volume.dims[2];
  const own = perm[2] === 2 && prepared.slices === n;
  return {
    positionsMm: Float32Array.from(positionsMm),
    scores: Float32Array.from(scores),
    blank,
    sops: Array.from({ length: scores.length }, (_, k) => (own ? series.sopInstanceUIDs[sign[2] === 1 ? k : n - 1 - k]! : '')),
    spacingMm: prepared.spacingMm,
  };
}

/** Where a pre-trained model goes: the worker saves to IndexedDB; tests keep it in memory. */
export type SaveModel = (model: Model, init: ManifestInit) => Promise<{ url: string; name: string; manifest: ModelManifest }>;

/**
 * SortingLoss pre-training on the open series alone: random runs of K axial slices at random
 * gaps, scored and sorted. Enough for slice-order checks and positions within this kind of scan,
 * and a start for fine-tuning when the store holds no model.
 */
export async function runPretrain(pacs: PacsClient, job: PretrainJob, post: (m: FromWorker) => void, save: SaveModel, signal?: AbortSignal): Promise<void> {
  post({ type: 'status', message: 'Loading the series from the PACS…' });
  const { series } = await loadSeries(pacs, job.studyInstanceUID, job.seriesInstanceUID);
  const mmPerPixel = fitMmPerPixel(series.volume, 'axial', job.size);
  const prepared = prepareVolume(job.seriesInstanceUID, series.volume, { plane: 'axial', size: job.size, mmPerPixel, window: job.window, intensity: DEFAULT_INTENSITY });
  if (prepared.slices < job.slicesPerVolume) {
    throw new AnnotationError(`this series has ${prepared.slices} axial slice(s); pre-training draws ${job.slicesPerVolume} at a time: open a longer series`, { seriesInstanceUID: job.seriesInstanceUID });
  }
  const spacing = prepared.spacingMm;
  const model = createModel(scoreModelSpec(encoderSpec('small')), { seed: job.seed });
  try {
    const net = asTrainable(model);
    post({ type: 'status', message: `Pre-training (SortingLoss) on ${prepared.slices} slices…` });
    const result = await train({
      model: net,
      volumes: [prepared],
      readEvery: readEvery(),
      config: {
        method: { kind: 'sorting', volumesPerBatch: job.volumesPerBatch, slicesPerVolume: job.slicesPerVolume, gapMm: [spacing, Math.max(spacing, 10 * spacing)], loss: { kind: 'listmle' }, augmentation: sortingAugmentationFor([prepared]) },
        steps: job.steps,
        learningRate: job.learningRate,
        optimizer: { kind: 'adam' },
        schedule: { kind: 'cosine', warmupSteps: Math.max(1, Math.round(job.steps * 0.05)) },
        clipNorm: 5,
        window: job.window,
        seed: job.seed,
        checkpointEvery: 0,
      },
      ...(signal ? { signal } : {}),
      onEvent: (e) => postProgress(post, 'pretrain', e),
    });
    const { positionsMm, scores } = await scoreVolume(net, prepared, job.window);
    const rho = spearman(scores, positionsMm);
    const saved = await save(model, {
      method: 'sorting',
      inputSize: job.size,
      plane: 'axial',
      huWindow: job.window,
      mmPerPixel,
      intensity: DEFAULT_INTENSITY,
      sliceSpacingMm: spacing,
      steps: result.step,
      metrics: { finalLoss: result.losses.at(-1) ?? Number.NaN, seriesSpearman: rho },
    });
    post({ type: 'pretrained', url: saved.url, name: saved.name, summary: summarize(saved.manifest), seconds: result.seconds, cancelled: result.status === 'cancelled', rho });
  } finally {
    model.dispose();
  }
}
