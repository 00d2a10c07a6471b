// One replica of a data-parallel fine-tuning in a worker_thread (replicas.test.ts), or the
// single-process run it is compared with: the same model, data and settings either way.
import { initNodeBackend } from '@tomosort/backend/node';
import { createModel, encoderSpec, scoreModelSpec, unetFromEncoder, unetModelSpec } from '@tomosort/models';
import { ReplicaGroup } from '@tomosort/replicas';
import type { ReplicaShared } from '@tomosort/replicas';
import type { TrainEvent } from '@tomosort/train';
import { phantomSubject } from '@tomosort/samples';
import { asTrainable, train } from '@tomosort/train';
import { finetune } from '../finetune';
import { prepareAnnotation } from '../prepare';
import { SEGMENTATION_AUGMENTATION, segmentationTask } from '../task';
import type { SegmentationBatch } from '../task';
import { prepareVolumeAnnotation, volumeSegmentationTask } from '../task3d';

export interface ReplicaRun {
  readonly shared?: ReplicaShared;
  readonly rank?: number;
  /** Cancel (this replica's signal) once this many steps have been reported. */
  readonly abortAfter?: number;
  readonly batch: number;
  /** 'finetune': the warm-up and full phases with Adam; 'sgd': 5 plain SGD steps of the train loop (no optimiser state to amplify rounding). */
  readonly loop: 'finetune' | 'sgd';
  /** 'sgd' settings: steps (5), learning rate (0.05), momentum (0.9), clipping at norm 5 (true). */
  readonly steps?: number;
  readonly lr?: number;
  readonly momentum?: number;
  readonly clip?: boolean;
  /** Every replica computes the whole batch (its "shard" is all of it): the sums then double exactly, so the result must equal one process' but for the kernels' own rounding. */
  readonly wholeBatch?: boolean;
  /** 3: a 3D U-Net (unet-down at half width) on crops of 8 slices at 16², `batch` crops a step. */
  readonly dims?: 2 | 3;
}

export interface ReplicaResult {
  readonly status: string;
  readonly losses: readonly number[];
  readonly state: Record<string, number[]>;
}

/** Trainable parameters in a replica group's sums: enough for the small U-Net. */
export const REPLICA_CAPACITY = 2_000_000;

export async function runFinetune(run: ReplicaRun): Promise<ReplicaResult> {
  await initNodeBackend('wasm');
  const subject = phantomSubject(1, 1, { size: 64 });
  const classes = [
    { value: 6, name: 'lungs' },
    { value: 9, name: 'liver' },
  ];
  const annotation = { id: subject.id, volume: subject.volume, labels: subject.labels, slices: [10, 20, 30, 40, 50] };
  const threeD = run.dims === 3;
  const volumes = [prepareVolumeAnnotation(annotation, 16, classes)];
  const slices = [prepareAnnotation(annotation, 32, classes)];
  const data = threeD ? volumes : slices;
  const unet = threeD
    ? createModel(unetModelSpec(encoderSpec('unet-down', { dims: 3, width: 0.5 }), { classes: 3 }), { seed: 2 })
    : unetFromEncoder(createModel(scoreModelSpec(encoderSpec('small')), { seed: 1 }), { classes: 3, seed: 2 });
  const model = asTrainable(unet);
  const depth = threeD ? { depth: 8 } : {};
  const controller = new AbortController();
  let steps = 0;
  const window = { center: 40, width: 400 };
  const task = threeD ? volumeSegmentationTask(volumes, { batch: run.batch, depth: 8, window, augmentation: SEGMENTATION_AUGMENTATION }) : segmentationTask(slices, { batch: run.batch, window, augmentation: SEGMENTATION_AUGMENTATION });
  const replicas = run.shared ? { replicas: new ReplicaGroup(run.shared, run.rank ?? 0, { timeoutMs: 60_000 }) } : {};
  const onStep = (e: TrainEvent) => {
    if (e.type === 'step' && ++steps === run.abortAfter) controller.abort();
  };
  const r =
    run.loop === 'finetune'
      ? await finetune({ model, data, config: { window, batch: run.batch, frozenSteps: 2, steps: 3, learningRate: 1e-2, seed: 3, ...depth }, signal: controller.signal, ...replicas, onEvent: (_, e) => onStep(e) })
      : await train({
          model,
          task: { ...task, ...(run.wholeBatch ? { shard: (b: SegmentationBatch) => b } : {}) } as typeof task,
          config: { method: { kind: 'task', name: 'segment', slicesPerStep: task.slicesPerStep, settings: {} }, steps: run.steps ?? 5, learningRate: run.lr ?? 0.05, optimizer: { kind: 'sgd', momentum: run.momentum ?? 0.9 }, schedule: { kind: 'constant' }, ...(run.clip === false ? {} : { clipNorm: 5 }), window, seed: 3, checkpointEvery: 0 },
          signal: controller.signal,
          ...replicas,
          onEvent: onStep,
        });
  const state = Object.fromEntries(Object.entries(model.state).map(([n, v]) => [n, Array.from(v.dataSync())]));
  return { status: r.status, losses: r.losses, state };
}

// As a worker_thread: run, post the result (or the error) to the parent.
const { isMainThread, parentPort, workerData } = await import('node:worker_threads');
if (!isMainThread && parentPort) {
  runFinetune(workerData as ReplicaRun).then(
    (result) => parentPort.postMessage({ ok: true, result }),
    (e: unknown) => parentPort.postMessage({ ok: false, error: String(e) }),
  );
}
