/** Messages between the panel (main thread) and the training worker. Pixel data travel as transferables. */
import type { KernelTime } from '@tomosort/backend';
import type { QualityEstimate } from '@tomosort/segment';

/** One annotated (or predicted) slice, by the SOP instance it belongs to: rows × columns label values. */
export interface SliceLabels {
  readonly sopInstanceUID: string;
  readonly labels: Uint8Array;
}

/**
 * One annotated plane of a reformat (drawn in MPR across the acquired slices): row `index`
 * (axis 1) or column `index` (axis 0) of every slice. `labels` is an image with one row per
 * slice, in the order of `sopInstanceUIDs` (columns values per row for axis 1, rows for axis 0).
 */
export interface ReformattedLabels {
  readonly axis: 0 | 1;
  readonly index: number;
  readonly labels: Uint8Array;
  readonly sopInstanceUIDs: readonly string[];
}

export interface JobClass {
  readonly value: number;
  readonly name: string;
}

/**
 * Where a model comes from: a URL a tf.io router understands (the model store over HTTP, or
 * `indexeddb://…` for one pre-trained in this browser), or files the user picked (model.json and
 * its weights; File objects are structured-cloneable, so they cross to the worker as they are).
 */
export type ModelRef = { readonly kind: 'url'; readonly url: string } | { readonly kind: 'files'; readonly files: readonly File[] };

export interface FinetuneJob {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  /** The annotated slices: only these (and `reformats`) are trained on; everything else is unknown, not background. */
  readonly annotated: readonly SliceLabels[];
  /** Planes annotated in a reformat (axial / coronal / sagittal MPR across the acquisition). */
  readonly reformats?: readonly ReformattedLabels[];
  readonly classes: readonly JobClass[];
  /** A pre-trained model, or null to start from random weights. */
  readonly model: ModelRef | null;
  /** Slice size and HU window for random weights; a pre-trained model brings its own (its manifest). */
  readonly size: number;
  readonly window: { readonly center: number; readonly width: number };
  readonly frozenSteps: number;
  readonly steps: number;
  readonly batch: number;
  readonly learningRate: number;
  readonly seed: number;
  /**
   * Folds of the quality estimate (cross-validation over the annotated planes: each fold trains
   * again as this job does); 0 or 1 = none. Default DEFAULT_QUALITY_FOLDS.
   */
  readonly qualityFolds?: number;
}

/**
 * The panel's default folds: QUALITY_FOLDS of @tomosort/segment (a test checks they agree), kept
 * here so that the panel's bundle does not pull in the training packages.
 */
export const DEFAULT_QUALITY_FOLDS = 5;

/** A fine-tuning's quality estimate (see @tomosort/segment estimateQuality), or why there is none. */
export type QualityMessage =
  | ({ readonly kind: 'estimated'; readonly interpolation: InterpolationQualityMessage } & QualityEstimate)
  /** '3d': the estimate is made for 2D models so far (a 3D U-Net trains on crops through the volume). */
  | { readonly kind: 'skipped'; readonly reason: 'off' | 'one-plane' | 'cancelled' | '3d' };

/**
 * Contour interpolation of the same folds (what OHIF offers; see @tomosort/segment
 * interpolationQuality), or why there is none: it runs along the acquisition, so it needs 2
 * annotated acquired slices.
 */
export type InterpolationQualityMessage = ({ readonly kind: 'estimated' } & QualityEstimate) | { readonly kind: 'skipped'; readonly reason: 'few-slices' | 'cancelled' };

export interface ExportJob {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  /** Every slice with a label (annotated and accepted predictions). */
  readonly slices: readonly SliceLabels[];
  readonly classes: readonly JobClass[];
}

/** The SEG series in the PACS that label a series (to continue an annotation stored earlier). */
export interface ListSegsJob {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
}

/** One SEG series of the study that references the series. */
export interface SegSummary {
  readonly seriesInstanceUID: string;
  readonly description: string;
  /** Its segments' names, in segment-number order. */
  readonly segments: readonly string[];
  /** Source slices it has frames for. */
  readonly slices: number;
}

/** Reads a SEG back as the annotation of the series it references. */
export interface LoadSegJob {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly segSeriesInstanceUID: string;
}

export interface ScoreJob {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  /** A model with a slice-score head (SortingLoss). */
  readonly model: ModelRef;
}

/**
 * Matches the slices of the series on screen to a second (reference) series by the score head:
 * each slice, with its neighbours as a short stack, is placed in the reference.
 */
export interface MatchJob {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly referenceStudyInstanceUID: string;
  readonly referenceSeriesInstanceUID: string;
  readonly model: ModelRef;
}

/** One slice of the series on screen and where it lands in the reference. */
export interface SliceMatch {
  readonly sopInstanceUID: string;
  /** The reference slice nearest the position found. */
  readonly referenceSopInstanceUID: string;
  /** Position in the reference (mm from its first axial slice) and its uncertainty. */
  readonly mm: number;
  readonly sdMm: number;
  readonly extrapolated: boolean;
}

/** SortingLoss pre-training on the open series alone (for users with no model yet). */
export interface PretrainJob {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly size: number;
  readonly window: { readonly center: number; readonly width: number };
  readonly steps: number;
  /** Slices per draw, and draws per step (each a random start and gap along the body axis). */
  readonly slicesPerVolume: number;
  readonly volumesPerBatch: number;
  readonly learningRate: number;
  readonly seed: number;
}

/** What the panel shows of a model's manifest. */
export interface ModelSummary {
  readonly method: string;
  readonly kind: string;
  readonly encoder: string;
  readonly inputSize: number;
  readonly huWindow: { readonly center: number; readonly width: number };
  readonly steps: number;
}

/** One finding of the slice-order check (see @tomosort/localize checkSliceOrder). */
export type OrderFindingMessage =
  | { readonly kind: 'reversed'; readonly rho: number }
  | { readonly kind: 'shuffled'; readonly extent: 'series'; readonly rho: number; readonly expectedRho: number }
  | { readonly kind: 'shuffled'; readonly extent: 'slices'; readonly slices: readonly number[] }
  | { readonly kind: 'missing'; readonly after: number; readonly estimated: number; readonly z: number }
  | { readonly kind: 'inconclusive'; readonly rho: number; readonly expectedRho: number | null; readonly reason: 'few-slices' | 'unreliable-model' | 'unordered' };

/**
 * Where training runs. `auto`: WebGPU on a real GPU, else wasm — a software WebGPU adapter
 * (SwiftShader, llvmpipe) emulates the GPU on the CPU and is far slower than wasm (bench viewer:
 * 0.23 vs 7.0 steps/s). `webgpu` / `wasm` force one (each falls back if it cannot start).
 */
export type Compute = 'auto' | 'webgpu' | 'wasm';

/**
 * A fixed fine-tuning run on a synthetic phantom (no series, no PACS): the same U-Net and loop as
 * a fine-tune job, to time this browser's backend and to compare backends or thread counts on
 * identical work (same seed, same data, so the losses must agree).
 */
/**
 * What a fine-tuning job's steps cost on this browser's backend: the panel's compute line and
 * `bench viewer`'s columns. The FLOPs are the U-Net's convolutions (3 × a forward pass per image);
 * the decoder warm-up (encoder frozen) costs less and is left out of the median.
 */
export interface TrainingCompute {
  /** The worker's backend line, e.g. "wasm (SIMD, 1 thread)". */
  readonly backend: string;
  /** Median wall time of the full fine-tuning steps; null when none ran (all warm-up, or cancelled). */
  readonly msPerStep: number | null;
  readonly gflopPerStep: number;
  /** On WebGPU, over the whole fine-tuning: dispatches and GPU readbacks per step, the peak GPU bytes. */
  readonly webgpu?: { readonly dispatchesPerStep: number; readonly readbacksPerStep: number; readonly peakGpuBytes: number };
}

/** What a benchmark on WebGPU counted (`countWebGpuWork`): per steady step, and the run's peak GPU bytes. */
export interface BenchmarkWebGpu {
  readonly kernels: readonly string[];
  readonly readEvery: number;
  readonly dispatchesPerStep: number;
  readonly readbacksPerStep: number;
  readonly peakGpuBytes: number;
}

export interface BenchmarkJob {
  readonly size: number;
  readonly batch: number;
  readonly steps: number;
  readonly seed: number;
  /** Also profile one more step kernel by kernel (tf.profile; the backend's own timer). */
  readonly profile?: boolean;
  /** 3D: a 3D U-Net (unet-down at half width) fine-tuned on crops of this many slices, `batch` crops a step. */
  readonly depth?: number;
}

/**
 * A job for the worker: one runs at a time. `id` (the panel's, any number) comes back as
 * `jobId` on every message the job sends, so a message of an earlier job is never taken for the
 * running one's.
 */
export type JobMessage =
  | { readonly type: 'finetune'; readonly job: FinetuneJob }
  | { readonly type: 'export'; readonly job: ExportJob }
  | { readonly type: 'listSegs'; readonly job: ListSegsJob }
  | { readonly type: 'loadSeg'; readonly job: LoadSegJob }
  | { readonly type: 'score'; readonly job: ScoreJob }
  | { readonly type: 'pretrain'; readonly job: PretrainJob }
  | { readonly type: 'match'; readonly job: MatchJob }
  | { readonly type: 'benchmark'; readonly job: BenchmarkJob };

/** How the wasm backend can use several CPU threads. */
export const PARALLEL_MODES = ['threads', 'replicas'] as const;
export type Parallel = (typeof PARALLEL_MODES)[number];

/** The CPU settings a deployment gives the worker (`tomosort viewer --cpu-threads/--cpu-parallel`, in app-config.js as `window.config.tomosort.cpu`). */
export interface CpuSettings {
  readonly threads?: number;
  readonly parallel?: Parallel;
}

export type ToWorker =
  /**
   * `threads`: CPU threads (default: hardware concurrency − 1, at least 1; more than one only where
   * the page is cross-origin isolated). `parallel` says how wasm uses them: 'threads' (default)
   * runs tfjs-wasm's thread pool (XNNPACK's convolutions); 'replicas' runs a 2D fine-tuning as
   * `threads` data-parallel replicas (this worker and helper workers, wasm one thread each, every
   * op split), the rest on one thread.
   */
  | { readonly type: 'start'; readonly compute: Compute; readonly threads?: number; readonly parallel?: Parallel }
  | (JobMessage & { readonly id?: number })
  /** Cancels the running job (with `id`: only if it is that one). */
  | { readonly type: 'cancel'; readonly id?: number };

/** What the worker sends: a job's messages carry its `jobId`. */
export type FromWorker = WorkerMessage & { readonly jobId?: number };

export type WorkerMessage =
  | {
      readonly type: 'ready';
      readonly backend: string;
      readonly fallbacks: readonly string[];
      readonly note?: string;
      /** wasm: the threads it runs (1 without cross-origin isolation or SharedArrayBuffer). */
      readonly threads?: number;
      /** wasm: data-parallel replicas of a 2D fine-tuning (with `parallel: 'replicas'`; `threads` is then 1 each). */
      readonly replicas?: number;
    }
  | { readonly type: 'status'; readonly message: string }
  | { readonly type: 'progress'; readonly phase: string; readonly step: number; readonly steps: number; readonly loss: number; readonly etaSeconds: number; readonly stepsPerSecond: number }
  | {
      readonly type: 'predicted';
      readonly slices: readonly SliceLabels[];
      /** Fine-tuning alone, the quality estimate, and the whole job: fine-tuning + estimate + prediction (s). */
      readonly trainSeconds: number;
      readonly qualitySeconds: number;
      readonly seconds: number;
      readonly steps: number;
      readonly cancelled: boolean;
      readonly quality: QualityMessage;
      /** The model's input side (the quality estimate's grid). */
      readonly size: number;
      /** How the series' intensities reached the model, in words (describeIntensity of @tomosort/volume). */
      readonly intensity: string;
      readonly compute: TrainingCompute;
    }
  | {
      readonly type: 'scored';
      /** Score of each SOP instance (slices in position order), ρ with position, order findings. */
      readonly scores: readonly { readonly sopInstanceUID: string; readonly score: number; readonly positionMm: number }[];
      readonly rho: number;
      readonly order: readonly OrderFindingMessage[];
      /** Blank slices (air, padding) the order check left out. */
      readonly blankSlices: number;
    }
  | { readonly type: 'exported'; readonly seriesInstanceUID: string; readonly sopInstanceUID: string; readonly frames: number }
  | { readonly type: 'segs'; readonly segs: readonly SegSummary[]; readonly skipped: readonly string[] }
  | {
      readonly type: 'segLoaded';
      readonly segSeriesInstanceUID: string;
      /** Segment number → label value; names from the SEG. */
      readonly classes: readonly JobClass[];
      /** Every source slice the SEG has frames for, whole (empty ones included). */
      readonly slices: readonly SliceLabels[];
    }
  | {
      readonly type: 'pretrained';
      /** Where the model was saved (indexeddb://… in the browser), and its manifest. */
      readonly url: string;
      readonly name: string;
      readonly summary: ModelSummary;
      readonly seconds: number;
      readonly cancelled: boolean;
      /** Spearman ρ of score vs position over every slice of the series, after training. */
      readonly rho: number;
    }
  | { readonly type: 'matched'; readonly referenceSeriesInstanceUID: string; readonly referenceRho: number; readonly matches: readonly SliceMatch[] }
  | {
      readonly type: 'benchmarked';
      readonly backend: string;
      /**
       * Each step's loss and wall time (on wasm the first includes the kernels' warm-up; on WebGPU
       * a throwaway copy compiled the pipelines first, and steps read in blocks of 4 share the
       * block's mean time).
       */
      readonly losses: readonly number[];
      readonly msPerStep: readonly number[];
      /** A cancel stopped it before its last step. */
      readonly cancelled: boolean;
      /** On replicas: each replica's time waiting for the others at sums, a step on average (ms; rank 0 first). */
      readonly replicaWaitMsPerStep?: readonly number[];
      /** With `profile`: the profiled step's time and its kernels, slowest first. */
      readonly profile?: { readonly stepMs: number; readonly kernels: readonly KernelTime[] };
      /** On WebGPU: our WGSL kernel groups in use and one steady step's work. */
      readonly webgpu?: BenchmarkWebGpu;
    }
  | { readonly type: 'error'; readonly message: string };
