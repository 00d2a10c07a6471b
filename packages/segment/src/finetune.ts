import type { Augmentation } from '@tomosort/pretext';
import type { ReplicaGroup } from '@tomosort/replicas';
import { train, withTrainable } from '@tomosort/train';
import type { CheckpointStore, TrainConfig, TrainEvent, TrainTask, TrainableModel } from '@tomosort/train';
import type { HuWindow } from '@tomosort/volume';
import { SegmentError } from './errors';
import type { PreparedAnnotation } from './prepare';
import { SEGMENTATION_AUGMENTATION, segmentationTask } from './task';
import { volumeSegmentationTask } from './task3d';
import type { PreparedVolumeAnnotation } from './task3d';

export interface FinetuneConfig {
  readonly window: HuWindow;
  /** Slices per step (3D: crops per step). */
  readonly batch: number;
  /** A 3D U-Net's crop depth in slices: `data` must then be `prepareVolumeAnnotation`s. */
  readonly depth?: number;
  /** Warm-up steps that train the decoder only (the pre-trained encoder frozen). */
  readonly frozenSteps: number;
  /** Steps that then train encoder and decoder together. */
  readonly steps: number;
  readonly learningRate: number;
  readonly seed: number;
  readonly augmentation?: Augmentation;
  /** Checkpoint every N steps of each phase (0 = at the end of each phase only). */
  readonly checkpointEvery?: number;
}

export type FinetunePhase = 'frozen' | 'full';

export interface FinetuneOptions {
  /** A U-Net (see unetFromEncoder) as the loop sees it. */
  readonly model: TrainableModel;
  readonly data: readonly PreparedAnnotation[] | readonly PreparedVolumeAnnotation[];
  readonly config: FinetuneConfig;
  /** One store per phase; with `resume`, a finished warm-up is not run again. */
  readonly stores?: Readonly<Partial<Record<FinetunePhase, CheckpointStore>>>;
  readonly resume?: boolean;
  readonly signal?: AbortSignal;
  readonly onEvent?: (phase: FinetunePhase, e: TrainEvent) => void;
  /** Read the loss back every this many steps (train's `readEvery`; a GPU then queues steps back to back). Default 1. */
  readonly readEvery?: number;
  /** Fine-tune as one replica of a data-parallel group (train's `replicas`; 2D: slices, 3D: whole crops per replica); every replica calls with the same model, data and settings. */
  readonly replicas?: ReplicaGroup;
}

export interface FinetuneResult {
  readonly status: 'finished' | 'cancelled';
  /** Loss per step, warm-up first. */
  readonly losses: readonly number[];
  readonly seconds: number;
}

const isEncoder = (name: string) => name.startsWith('encoder/');

function asVolumes(data: readonly (PreparedAnnotation | PreparedVolumeAnnotation)[]): PreparedVolumeAnnotation[] {
  const flat = data.find((d) => !('kind' in d) || d.kind !== 'volume');
  if (flat) throw new SegmentError(`${flat.id}: a 3D fine-tuning (depth set) needs whole volumes (prepareVolumeAnnotation), got annotated slices only`);
  return data as PreparedVolumeAnnotation[];
}

/**
 * Sparse-slice fine-tuning: `frozenSteps` with the encoder frozen (the new decoder learns to
 * read the pre-trained features before their gradients can wreck them), then `steps` of the
 * whole network under a fresh cosine schedule. Batches come only from annotated slices.
 */
export async function finetune(opts: FinetuneOptions): Promise<FinetuneResult> {
  const { config } = opts;
  if (!Number.isInteger(config.frozenSteps) || config.frozenSteps < 0) throw new SegmentError(`frozenSteps must be an integer ≥ 0, got ${config.frozenSteps}`);
  if (!Number.isInteger(config.steps) || config.steps < 0) throw new SegmentError(`steps must be an integer ≥ 0, got ${config.steps}`);
  if (config.frozenSteps + config.steps === 0) throw new SegmentError('nothing to train: frozenSteps and steps are both 0');
  const augmentation = config.augmentation ?? SEGMENTATION_AUGMENTATION;
  const task: TrainTask = config.depth === undefined ? segmentationTask(opts.data, { batch: config.batch, window: config.window, augmentation }) : volumeSegmentationTask(asVolumes(opts.data), { batch: config.batch, depth: config.depth, window: config.window, augmentation });
  const settings = { batch: config.batch, augmentation, data: opts.data.map((d) => ({ id: d.id, slices: d.slices, ...(d.reformats.length > 0 ? { reformats: d.reformats } : {}) })), ...(config.depth === undefined ? {} : { depth: config.depth }) };
  const phaseConfig = (phase: FinetunePhase, steps: number): TrainConfig => ({
    method: { kind: 'task', name: `finetune-${phase}`, slicesPerStep: task.slicesPerStep, settings },
    steps,
    learningRate: config.learningRate,
    optimizer: { kind: 'adam' },
    schedule: { kind: 'cosine', warmupSteps: Math.min(10, Math.floor(steps / 10)) },
    clipNorm: 5,
    window: config.window,
    seed: config.seed + (phase === 'frozen' ? 0 : 1),
    checkpointEvery: config.checkpointEvery ?? 0,
  });
  const losses: number[] = [];
  let seconds = 0;
  const fullStore = opts.stores?.full;
  const fullStarted = opts.resume === true && fullStore !== undefined && (await fullStore.load()) !== undefined;
  const phases: [FinetunePhase, number, TrainableModel][] = [
    ['frozen', config.frozenSteps, withTrainable(opts.model, (n) => !isEncoder(n))],
    ['full', config.steps, opts.model],
  ];
  for (const [phase, steps, model] of phases) {
    if (steps === 0 || (phase === 'frozen' && fullStarted)) continue;
    const store = opts.stores?.[phase];
    const r = await train({
      model,
      task,
      config: phaseConfig(phase, steps),
      ...(store ? { store } : {}),
      ...(opts.resume ? { resume: true } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.readEvery ? { readEvery: opts.readEvery } : {}),
      ...(opts.replicas ? { replicas: opts.replicas } : {}),
      onEvent: (e) => opts.onEvent?.(phase, e),
    });
    losses.push(...r.losses);
    seconds += r.seconds;
    if (r.status === 'cancelled') return { status: 'cancelled', losses, seconds };
  }
  return { status: 'finished', losses, seconds };
}
