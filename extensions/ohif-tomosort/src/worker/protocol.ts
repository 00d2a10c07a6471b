/** Messages between the panel (main thread) and the training worker. Pixel data travel as transferables. */

/** One annotated (or predicted) slice, by the SOP instance it belongs to: rows × columns label values. */
export interface SliceLabels {
  readonly sopInstanceUID: string;
  readonly labels: Uint8Array;
}

export interface JobClass {
  readonly value: number;
  readonly name: string;
}

export interface FinetuneJob {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  /** The annotated slices: only these are trained on; every other slice is unknown, not background. */
  readonly annotated: readonly SliceLabels[];
  readonly classes: readonly JobClass[];
  /** URL of a pre-trained model.json (model store), or null to start from random weights. */
  readonly modelUrl: string | null;
  /** Slice size and HU window: the pre-trained model's (its manifest), or the user's for random weights. */
  readonly size: number;
  readonly window: { readonly center: number; readonly width: number };
  readonly frozenSteps: number;
  readonly steps: number;
  readonly batch: number;
  readonly learningRate: number;
  readonly seed: number;
}

export interface ExportJob {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  /** Every slice with a label (annotated and accepted predictions). */
  readonly slices: readonly SliceLabels[];
  readonly classes: readonly JobClass[];
}

export interface ScoreJob {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  /** model.json of a model with a slice-score head (SortingLoss). */
  readonly modelUrl: string;
}

/** One finding of the slice-order check (see @tomosort/localize checkSliceOrder). */
export type OrderFindingMessage =
  | { readonly kind: 'reversed'; readonly rho: number }
  | { readonly kind: 'shuffled'; readonly slices: readonly number[] }
  | { readonly kind: 'missing'; readonly after: number; readonly estimated: number }
  | { readonly kind: 'inconclusive'; readonly rho: number };

export type ToWorker =
  | { readonly type: 'start'; readonly preference: readonly ('webgpu' | 'webgl' | 'wasm' | 'cpu')[] }
  | { readonly type: 'finetune'; readonly job: FinetuneJob }
  | { readonly type: 'export'; readonly job: ExportJob }
  | { readonly type: 'score'; readonly job: ScoreJob }
  | { readonly type: 'cancel' };

export type FromWorker =
  | { readonly type: 'ready'; readonly backend: string; readonly fallbacks: readonly string[] }
  | { readonly type: 'status'; readonly message: string }
  | { readonly type: 'progress'; readonly phase: string; readonly step: number; readonly steps: number; readonly loss: number; readonly etaSeconds: number; readonly stepsPerSecond: number }
  | {
      readonly type: 'predicted';
      readonly slices: readonly SliceLabels[];
      /** Fine-tuning alone, and fine-tuning + prediction (s). */
      readonly trainSeconds: number;
      readonly seconds: number;
      readonly steps: number;
      readonly cancelled: boolean;
    }
  | {
      readonly type: 'scored';
      /** Score of each SOP instance (slices in position order), ρ with position, order findings. */
      readonly scores: readonly { readonly sopInstanceUID: string; readonly score: number; readonly positionMm: number }[];
      readonly rho: number;
      readonly order: readonly OrderFindingMessage[];
    }
  | { readonly type: 'exported'; readonly seriesInstanceUID: string; readonly sopInstanceUID: string; readonly frames: number }
  | { readonly type: 'error'; readonly message: string };
