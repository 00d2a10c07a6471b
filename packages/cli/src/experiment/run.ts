import * as tf from '@tensorflow/tfjs-core';
import { leaveTwoOutCoverage, meanSpearman, medianStackErrors, scoreVolume, stackLocalizationErrors } from '@tomosort/localize';
import type { HeldOutCoverage, ScoredVolume } from '@tomosort/localize';
import { createModel, encoderSpec, projectionModelSpec, scoreFromEncoder, scoreModelSpec, unetFromEncoder } from '@tomosort/models';
import type { EncoderPreset, Model, ModelSpec } from '@tomosort/models';
import { CSPR_DEPTH, SORTING_AUGMENTATION, fitMmPerPixel, labelledPhantomSlices, loadPrepared, phantomSources, prepareVolume, sortingAugmentationFor } from '@tomosort/pretext';
import type { PreparedVolume } from '@tomosort/pretext';
import { hashString, mixSeed, mulberry32 } from '@tomosort/random';
import type { Rng } from '@tomosort/random';
import { PHANTOM_ORGAN_ID, phantomSubject } from '@tomosort/samples';
import type { PhantomSubject } from '@tomosort/samples';
import { dicePerClass, finetune, predictVolume, prepareAnnotation, prepareVolumeAnnotation } from '@tomosort/segment';
import { interpolateAnnotation } from '@tomosort/segment/node';
import type { SegmentClass } from '@tomosort/segment';
import { MemoryCheckpointStore, asTrainable, train, withTrainable } from '@tomosort/train';
import type { CheckpointStore } from '@tomosort/train';
import type { MethodConfig, Proxy3dConfig, TaskMethodConfig, TrainConfig, TrainTask } from '@tomosort/train';
import { CSPR_LABEL_SMOOTHING, csprModelSpec, csprTask, cubeSideOf, proxy3dModelSpec } from '@tomosort/train';
import { DEFAULT_INTENSITY, reorient } from '@tomosort/volume';
import type { HuWindow, Volume } from '@tomosort/volume';
import { CliError } from '../errors';
import { meanInterval } from '../stats';
import type { MeanInterval } from '../stats';
import type { ExperimentStore } from './store';

/** The 2D methods (every preset runs them). */
export const EXPERIMENT_METHODS = ['scratch', 'interpolation', 'simclr', 'barlow', 'sorting'] as const;
/** The 3D seed methods (Taleb et al.'s proxy tasks, CSPR): a 3D encoder fine-tuned as a 3D U-Net on the same slices; no slice scores. */
export const EXPERIMENT_METHODS_3D = ['scratch3d', 'rotation3d', 'rpl3d', 'jigsaw3d', 'exemplar3d', 'cpc3d', 'cspr'] as const;
export const ALL_EXPERIMENT_METHODS = [...EXPERIMENT_METHODS, ...EXPERIMENT_METHODS_3D] as const;
export type ExperimentMethod = (typeof ALL_EXPERIMENT_METHODS)[number];

/** Whether a method trains a 3D network. */
export const isVolumetric = (m: ExperimentMethod): boolean => (EXPERIMENT_METHODS_3D as readonly string[]).includes(m);

/** Methods that train no network: Dice only (no pre-training, scores or localization). */
const NO_NETWORK: readonly ExperimentMethod[] = ['interpolation'];

/** Whether a method trains a network (and so has a pre-training that its fine-tunings wait for). */
export const trainsNetwork = (m: ExperimentMethod): boolean => !NO_NETWORK.includes(m);

export interface ExperimentConfig {
  readonly seed: number;
  readonly model: EncoderPreset;
  readonly size: number;
  /** In-plane physical scale of every input; default: fit the first pre-training subject into size². */
  readonly mmPerPixel?: number | undefined;
  readonly window: HuWindow;
  readonly methods: readonly ExperimentMethod[];
  /**
   * Pre-training on phantom cohort `seed` (unlabelled), the same *source* slices per step for every
   * method: SortingLoss encodes each once, SimCLR and Barlow Twins two augmented views of each.
   */
  readonly pretrain: { readonly subjects: number; readonly steps: number; readonly slicesPerStep: number; readonly learningRate: number };
  /** Fine-tuning per (method, budget, decoder seed, subject). */
  readonly finetune: { readonly frozenSteps: number; readonly steps: number; readonly batch: number; readonly learningRate: number };
  /** Annotated slices per subject. */
  readonly budgets: readonly number[];
  /** Fine-tuning seeds: each gives the decoder's initialisation, the batches and the choice of annotated slices. */
  readonly seeds: readonly number[];
  /** Held-out phantom subjects (cohort seed + 1) for Dice. */
  readonly phantomSubjects: number;
  /**
   * Each seed fine-tunes on its own held-out subject (the n-th seed on the n-th subject, cycling),
   * rather than every seed on every subject: units = seeds, each a different subject and slice
   * choice — the spread over subjects at a fifth of the cost of the full cross.
   */
  readonly subjectPerSeed?: boolean;
  /**
   * Time to quality: snapshots of each pre-training at these fractions of its steps, each
   * fine-tuned on `budget` slices with the first `seeds` seeds (phantom), Dice against the
   * pre-training time it took; with the finished encoder (and scratch at 0 s) as the curve's ends.
   */
  readonly timeToQuality?: { readonly budget: number; readonly seeds: number; readonly fractions: readonly number[] };
  readonly localization: {
    /** Held-out phantom subjects used as references and stack sources (each ≥ 300 mm long). */
    readonly subjects: number;
    readonly stacks: readonly number[];
    readonly stacksPerPair: number;
    /** Steps of a score-head probe on a frozen encoder for methods without a score head. */
    readonly probeSteps: number;
  };
  /** Real volumes evaluated besides the phantoms (each: Dice by budget, ρ, localization within itself). */
  readonly real: readonly RealCaseName[];
  /**
   * Same subject, two reconstructions (Colin27: ch2 and ch2better): SortingLoss pre-trained for
   * `steps` on both, stacks of each placed in the other (`perPair` per size and direction).
   */
  readonly sameSubject?: { readonly steps: number; readonly perPair: number };
  /** The 3D methods' settings; absent: {@link volumetricSettings}' defaults for the size. */
  readonly volumetric?: VolumetricSettings;
}

/** How the 3D methods pre-train and fine-tune. */
export interface VolumetricSettings {
  /** Cube side of rotation3d and exemplar3d (voxels at the experiment's mm/pixel). */
  readonly cube: number;
  /** Patch side of rpl3d and jigsaw3d (3³ grid, jitter 2) and cpc3d (4³ grid). */
  readonly patch: number;
  /** Samples per pre-training step (CSPR: slabs). */
  readonly samples: number;
  /** Jigsaw classes. */
  readonly permutations: number;
  /** Fine-tuning: slices per crop of the 3D U-Net, crops per step. */
  readonly depth: number;
  readonly batch: number;
}

/** The 3D settings of `config`: cubes of half the slice side (≤ 32), patches fitting a 4³ grid in it. */
export function volumetricSettings(config: ExperimentConfig): VolumetricSettings {
  if (config.volumetric) return config.volumetric;
  const cube = Math.max(8, Math.min(32, 8 * Math.floor(config.size / 16)));
  return { cube, patch: Math.max(8, 8 * Math.floor(config.size / 32 / 1.25)), samples: 4, permutations: 100, depth: 16, batch: 2 };
}

/** The real, labelled volumes the experiment knows. */
export const REAL_CASES = ['cranium', 'colin27'] as const;
export type RealCaseName = (typeof REAL_CASES)[number];

/** What the report says of each real case. */
export const REAL_CASE_TITLES: Record<RealCaseName, string> = {
  cranium: 'Head CT (sample:cranium, its masks head and bone)',
  colin27: 'Brain MR (sample:colin27: Colin27 T1, AAL merged into left/right cerebrum, cerebellum, deep grey nuclei)',
};

/** Held-out Dice of one method and budget over its units (seed × subject), with the units' values in order (seed-major) for paired differences. */
export interface DiceStats extends MeanInterval {
  readonly samples: readonly number[];
}

export interface ExperimentResult {
  readonly config: ExperimentConfig;
  /** The physical scale used (the config's, or the fitted default). */
  readonly mmPerPixel: number;
  readonly backend: string;
  /** Mean held-out Dice over classes, per unit (seed × subject): mean, sd and 95% interval over units. */
  readonly dice: Record<string, Record<string, DiceStats>>;
  /** Median absolute localization error of held-out stacks (mm); null where no reference could be fitted. */
  readonly localizationMm: Record<string, Record<string, number | null>>;
  /** References whose score map could be fitted (|ρ| ≥ 0.5), of those tried: the medians rest on these. */
  readonly localizationReferences: Record<string, { readonly fitted: number; readonly tried: number }>;
  /** Mean held-out Spearman ρ between slice score and position. */
  readonly spearman: Record<string, number>;
  readonly pretrainSeconds: Record<string, number>;
  /** tf.memory peak bytes during pre-training. */
  readonly peakBytes: Record<string, number>;
  /** The pretext loss during pre-training, binned by step (mean per bin, ≤ 100 bins), to show where it plateaus. */
  readonly pretrainLoss: Record<string, readonly { readonly step: number; readonly loss: number }[]>;
  /** Per real case (cranium, colin27): Dice by budget, score ρ and localization of stacks within the volume. */
  readonly real: Partial<Record<RealCaseName, RealResult>>;
  /** Phantom Dice at the time-to-quality budget after pre-training for `seconds` (`step` steps), per method. */
  readonly timeToQuality: Record<string, readonly QualityPoint[]>;
  /** Leave-two-out coverage of the calibrated and reference-only intervals on the localization subjects, by method and stack size. */
  readonly localizationCoverage: Record<string, Record<string, HeldOutCoverage | null>>;
  /** Median error (mm) of stacks of one reconstruction placed in the other, by direction and stack size (with `sameSubject`). */
  readonly sameSubject?: SameSubjectResult;
  /** Commits whose code computed the units (more than one when a run was resumed across changes). */
  readonly commits: readonly string[];
  readonly seconds: number;
}

export interface SameSubjectResult {
  /** What was placed where, e.g. "sample:colin27:better in sample:colin27". */
  readonly directions: Record<string, Record<string, number | null>>;
  /** Spearman ρ of each reconstruction's scores. */
  readonly spearman: Record<string, number>;
  readonly steps: number;
}

/** Two reconstructions of one subject in one frame (ch2 and ch2better), axial. */
export interface SameSubjectCase {
  readonly ids: readonly [string, string];
  readonly volumes: readonly [Volume, Volume];
}

export interface QualityPoint {
  readonly step: number;
  readonly seconds: number;
  readonly dice: DiceStats;
}

export type ExperimentLog = (message: string) => void;

/** The organs fine-tuned on the phantom. */
export const PHANTOM_CLASSES: readonly SegmentClass[] = [
  { value: PHANTOM_ORGAN_ID.lungs, name: 'lungs' },
  { value: PHANTOM_ORGAN_ID.heart, name: 'heart' },
  { value: PHANTOM_ORGAN_ID.liver, name: 'liver' },
];

/**
 * `k` annotated slices over `range` = [first, last]: one in each of k equal parts, all at the same
 * random offset within their part — spread evenly, as a radiologist annotates, the choice varying
 * with `rng`.
 */
export function chooseSlices(k: number, [first, last]: readonly [number, number], rng: Rng): number[] {
  const span = last - first + 1;
  const m = Math.min(k, span);
  const u = rng();
  return [...new Set(Array.from({ length: m }, (_, i) => first + Math.floor(((i + u) * span) / m)))];
}

/** Slices where any of `classes` is present: [first, last] (the organs' extent a radiologist would annotate). */
function labelledRange(labels: Volume<Uint8Array>, classes: readonly SegmentClass[]): [number, number] {
  const plane = labels.dims[0] * labels.dims[1];
  const values = new Set(classes.map((c) => c.value));
  let first = -1;
  let last = -1;
  for (let k = 0; k < labels.dims[2]; k++) {
    const slice = labels.data.subarray(k * plane, (k + 1) * plane);
    if (slice.some((v) => values.has(v))) {
      if (first < 0) first = k;
      last = k;
    }
  }
  return first < 0 ? [0, labels.dims[2] - 1] : [first, last];
}

const countOf = (labels: Volume<Uint8Array>, value: number): number => labels.data.reduce((n, v) => n + (v === value ? 1 : 0), 0);

/** Held-out phantom subjects (cohort seed + 1) holding every class on ≥ 1000 voxels. */
export function heldOutDiceSubjects(config: ExperimentConfig): PhantomSubject[] {
  const out: PhantomSubject[] = [];
  for (let n = 0; out.length < config.phantomSubjects && n < 500; n++) {
    const s = phantomSubject(n, config.seed + 1);
    if (PHANTOM_CLASSES.every((c) => countOf(s.labels, c.value) >= 1000)) out.push(s);
  }
  return out;
}

function pretrainMethod(method: ExperimentMethod, slices: number): MethodConfig | undefined {
  if (method === 'sorting') return { kind: 'sorting', volumesPerBatch: Math.max(1, slices / 8), slicesPerVolume: 8, gapMm: [5, 40], augmentation: SORTING_AUGMENTATION };
  if (method === 'simclr') return { kind: 'simclr', slices };
  if (method === 'barlow') return { kind: 'barlow', slices };
  return undefined;
}

/**
 * The experiment's training settings for a pretext method: Adam at the pre-training rate, clipping
 * at 5, the experiment's window. One place for the pre-trainings, the score-head probes and the
 * same-subject run (the key order is part of a checkpoint's settings: keep it).
 */
function pretextTrainConfig(
  config: ExperimentConfig,
  method: MethodConfig | TaskMethodConfig,
  steps: number,
  o: { readonly seed: number; readonly schedule: TrainConfig['schedule']; readonly checkpointEvery: number },
): TrainConfig {
  return {
    method,
    steps,
    learningRate: config.pretrain.learningRate,
    optimizer: { kind: 'adam' },
    schedule: o.schedule,
    clipNorm: 5,
    window: config.window,
    seed: o.seed,
    checkpointEvery: o.checkpointEvery,
  };
}

interface Pretrained {
  readonly model: Model;
  /** Wall-clock seconds of the steps (summed over resumed runs). */
  readonly seconds: number;
  readonly peakBytes: number;
  readonly losses: { step: number; loss: number }[];
  /** Encoder snapshots for time to quality (score models holding a copy of the encoder). */
  readonly snapshots: { readonly step: number; readonly seconds: number; readonly model: Model }[];
}

interface StepRecord {
  readonly step: number;
  readonly loss: number;
  readonly ms: number;
}

/** The steps at which a pre-training of `steps` steps leaves a time-to-quality snapshot. */
export function snapshotSteps(config: ExperimentConfig): number[] {
  const steps = config.pretrain.steps;
  return [...new Set((config.timeToQuality?.fractions ?? []).map((f) => Math.round(f * steps)).filter((s) => s > 0 && s < steps))].sort((a, b) => a - b);
}

/**
 * Pre-trains one method (none for scratch: random weights). With a store, checkpoints every 50
 * steps and resumes from the last one; each step's loss and time is logged, so the curve and the
 * time survive a restart. Training stops at each snapshot step (a checkpoint), copies the encoder
 * and goes on from that checkpoint: the same weights as an uninterrupted run.
 */
/** The 3D proxy task a method name stands for, at settings `v` (undefined for the other methods). */
export function proxy3dConfigFor(method: string, v: VolumetricSettings): Proxy3dConfig | undefined {
  const grid = (cells: number, jitter: number) => ({ grid: cells, patch: v.patch, jitter });
  switch (method) {
    case 'rotation3d':
    case 'exemplar3d':
      return { kind: method, samples: v.samples, side: v.cube };
    case 'rpl3d':
      return { kind: method, samples: v.samples, grid: grid(3, 2) };
    case 'jigsaw3d':
      return { kind: method, samples: v.samples, grid: grid(3, 2), permutations: v.permutations };
    case 'cpc3d':
      return { kind: method, samples: v.samples, grid: grid(4, 0), contextRows: 2 };
    default:
      return undefined;
  }
}

/** What a method pre-trains: its network, its training method, and what the loop draws from. */
function pretextOf(method: ExperimentMethod, config: ExperimentConfig, volumes: readonly PreparedVolume[], mmPerPixel: number): { spec: ModelSpec; method: MethodConfig | TaskMethodConfig | undefined; data: { volumes: readonly PreparedVolume[] } | { task: TrainTask } } {
  const v = volumetricSettings(config);
  const proxy = proxy3dConfigFor(method, v);
  if (proxy) return { spec: proxy3dModelSpec(proxy, encoderSpec('unet-down', { dims: 3 })), method: proxy, data: { volumes } };
  // The 3D baseline: Taleb et al.'s encoder from random weights.
  if (method === 'scratch3d') return { spec: scoreModelSpec(encoderSpec('unet-down', { dims: 3 })), method: undefined, data: { volumes } };
  if (method === 'cspr') {
    // The phantoms' labelled slices (their own label maps), the same subjects the others pre-train on.
    const slabs = labelledPhantomSlices({ subjects: config.pretrain.subjects, seed: config.seed, prepare: { plane: 'axial', size: config.size, mmPerPixel, window: config.window } });
    const task = csprTask(slabs, { samples: v.samples, window: config.window });
    return {
      spec: csprModelSpec(encoderSpec(config.model, { dims: 3, inPlaneStrides: true }), slabs.classes.length),
      method: { kind: 'task', name: 'cspr', slicesPerStep: task.slicesPerStep, settings: { samples: v.samples, classes: slabs.classes, labelSmoothing: CSPR_LABEL_SMOOTHING } },
      data: { task },
    };
  }
  const encoder = encoderSpec(config.model);
  const m = pretrainMethod(method, config.pretrain.slicesPerStep);
  return { spec: m === undefined || m.kind === 'sorting' ? scoreModelSpec(encoder) : projectionModelSpec(encoder), method: m, data: { volumes } };
}

async function pretrain(method: ExperimentMethod, config: ExperimentConfig, volumes: readonly PreparedVolume[], mmPerPixel: number, log: ExperimentLog, store?: ExperimentStore): Promise<Pretrained> {
  const p = pretextOf(method, config, volumes, mmPerPixel);
  const m = p.method;
  const build = () => createModel(p.spec, { seed: config.seed + 1 });
  if (m === undefined) return { model: build(), seconds: 0, peakBytes: 0, losses: [], snapshots: [] };
  const key = `pretrain-${method}`;
  const cropDepth = method === 'cspr' ? CSPR_DEPTH : m.kind === 'task' ? undefined : cubeSideOf(m);
  const manifest = (steps: number) => ({ method: method as 'sorting', inputSize: config.size, cropDepth, plane: 'axial' as const, huWindow: config.window, mmPerPixel, intensity: DEFAULT_INTENSITY, sliceSpacingMm: volumes[0]?.spacingMm ?? 1, steps });
  const trainConfig = pretextTrainConfig(config, m, config.pretrain.steps, {
    seed: config.seed,
    schedule: { kind: 'cosine', warmupSteps: Math.min(10, config.pretrain.steps) },
    checkpointEvery: store ? 50 : 0,
  });
  // Peak memory from 3 profiled steps of a throwaway copy: a step's peak is the same at every
  // step, and profiling the whole run records every kernel (tf.profile then overflows the stack).
  const measurePeak = async () => {
    const probe = build();
    const info = await tf.profile(async () => {
      await train({ model: asTrainable(probe), ...p.data, config: { ...trainConfig, steps: Math.min(3, config.pretrain.steps), checkpointEvery: 0 } });
    });
    probe.dispose();
    return info.peakBytes;
  };
  const peakBytes = store ? await store.unit(`${key}/peak-bytes`, measurePeak) : await measurePeak();

  let model: Model = build();
  const checkpoints: CheckpointStore = store ? store.checkpoints(key) : new MemoryCheckpointStore();
  const records = new Map<number, StepRecord>();
  for (const r of store?.lines<StepRecord>(`${key}/steps`) ?? []) records.set(r.step, r);
  const secondsTo = (step: number) => [...records.values()].filter((r) => r.step <= step).reduce((t, r) => t + r.ms, 0) / 1000;
  const snapshots: Pretrained['snapshots'][number][] = [];
  if (store?.readOnly) {
    // A report assembled from stored units (a grid's, collected through the queue): every unit
    // that would use the weights is stored, and a read-only store never computes one, so the
    // weights are not loaded — they may live only on the workers' storage. Untrained models of
    // the same architecture stand in; the step log gives the curve and the seconds.
    if (!records.has(config.pretrain.steps)) throw new CliError(`${store.dir}: the pre-training ${key} has not finished (its job failed or has not run): the report is not written`);
    const logged = [...records.values()].sort((a, b) => a.step - b.step);
    return {
      model,
      seconds: secondsTo(config.pretrain.steps),
      peakBytes,
      losses: binLosses(logged.map((r) => r.loss), 100),
      snapshots: snapshotSteps(config).map((step) => ({ step, seconds: secondsTo(step), model: build() })),
    };
  }
  const finished = store ? await store.loadModel(`${key}/model`) : undefined;
  let firstRun = true;
  for (const target of [...snapshotSteps(config), config.pretrain.steps]) {
    const final = target === config.pretrain.steps;
    const saved = store && !final ? await store.loadModel(`${key}/at-${target}`) : undefined;
    if (saved) {
      snapshots.push({ step: target, seconds: secondsTo(target), model: saved });
      continue;
    }
    if (final && finished) {
      model.dispose();
      model = finished;
      break;
    }
    if (store?.readOnly) throw new CliError(`${store.dir}: the pre-training ${key} has not finished (its job failed or has not run): the report is not written`);
    const controller = new AbortController();
    let last = 0;
    await train({
      model: asTrainable(model),
      ...p.data,
      config: trainConfig,
      store: checkpoints,
      resume: true,
      signal: controller.signal,
      onEvent: (e) => {
        // (A continuation after a snapshot also "resumes": only the first run of a process says so.)
        if (e.type === 'start' && e.resumed && firstRun) log(`  ${method}: resuming pre-training at step ${e.fromStep}`);
        // Killed after the snapshot's checkpoint but before the snapshot: take it now.
        if (e.type === 'start' && e.fromStep >= target) controller.abort();
        if (e.type !== 'step') return;
        const r = { step: e.step, loss: e.loss, ms: e.ms };
        records.set(e.step, r);
        store?.append(`${key}/steps`, r);
        if (e.step >= target) controller.abort();
        if (performance.now() - last > 15_000) {
          last = performance.now();
          log(`  ${method}: step ${e.step}/${e.steps}, loss ${e.loss.toFixed(4)}`);
        }
      },
    });
    firstRun = false;
    if (final) {
      if (store) await store.saveModel(`${key}/model`, model, manifest(target));
    } else {
      const copy = scoreFromEncoder(model);
      if (store) await store.saveModel(`${key}/at-${target}`, copy, manifest(target));
      snapshots.push({ step: target, seconds: secondsTo(target), model: copy });
    }
  }
  const steps = [...records.values()].sort((a, b) => a.step - b.step);
  return { model, seconds: secondsTo(config.pretrain.steps), peakBytes, losses: binLosses(steps.map((r) => r.loss), 100), snapshots };
}

/** Mean loss per bin of consecutive steps (≤ `bins` bins), each at its bin's last step (1-based). */
export function binLosses(losses: readonly number[], bins: number): { step: number; loss: number }[] {
  const per = Math.max(1, Math.ceil(losses.length / bins));
  const out: { step: number; loss: number }[] = [];
  for (let a = 0; a < losses.length; a += per) {
    const part = losses.slice(a, a + per);
    out.push({ step: a + part.length, loss: part.reduce((t, x) => t + x, 0) / part.length });
  }
  return out;
}

/** The model's slice scorer: its own score head, or a score-head probe trained on its frozen encoder. */
async function scorerFor(method: ExperimentMethod, pretrained: Model, config: ExperimentConfig, volumes: readonly PreparedVolume[]): Promise<Model> {
  if (method === 'sorting') return pretrained;
  const probe = scoreFromEncoder(pretrained, { seed: config.seed + 7 });
  await train({
    model: withTrainable(asTrainable(probe), (name) => !name.startsWith('encoder/')),
    volumes,
    config: pretextTrainConfig(config, pretrainMethod('sorting', config.pretrain.slicesPerStep)!, config.localization.probeSteps, { seed: config.seed + 7, schedule: { kind: 'constant' }, checkpointEvery: 0 }),
  });
  return probe;
}

async function scoreAll(scorer: Model, volumes: readonly { prepared: PreparedVolume; scale: number }[], window: HuWindow): Promise<ScoredVolume[]> {
  const apply = { apply: (x: tf.Tensor4D, training: boolean) => scorer.apply(x, { training }) };
  const out: ScoredVolume[] = [];
  for (const v of volumes) out.push({ scale: v.scale, spacingMm: v.prepared.spacingMm, ...(await scoreVolume(apply, v.prepared, window)) });
  return out;
}

function localizationErrors(scored: readonly ScoredVolume[], config: ExperimentConfig, perPair: number, withinSelf = false) {
  const e = stackLocalizationErrors(scored, { stacks: config.localization.stacks, perPair, seed: config.seed, withinSelf });
  return { medians: medianStackErrors(e), references: { fitted: e.references, tried: e.references + e.refused } };
}

interface DiceCase {
  readonly id: string;
  readonly volume: Volume;
  readonly labels: Volume<Uint8Array>;
  readonly classes: readonly SegmentClass[];
}

/** A unit key part from a free-form name ("phantom:3@1" → "phantom_3@1"). */
const keyPart = (s: string): string => s.replace(/[^\w.@-]/g, '_');

interface DiceOptions {
  readonly config: ExperimentConfig;
  readonly mmPerPixel: number;
  readonly log: ExperimentLog;
  /** What the log line says ("sorting phantom"). */
  readonly tag: string;
  /** The unit key's method part ("sorting", "sorting@250" for a snapshot). */
  readonly unitName: string;
  /** "phantom" or the real case's name. */
  readonly on: string;
  readonly budgets?: readonly number[];
  readonly seeds?: readonly number[];
  readonly store?: ExperimentStore | undefined;
  /** Which fine-tuning units this process computes (a queue job's share); the others it only reads if stored. Default: all. */
  readonly only?: UnitFilter | undefined;
}

/**
 * A share of the fine-tuning units: by budget, seed and what is fine-tuned on — "phantom" (the
 * seed's held-out subject, or each of them without `subjectPerSeed`) or a real case's name.
 */
export type UnitFilter = (budget: number, seed: number, on: string) => boolean;

/**
 * Held-out Dice per budget over units (seed × case, or seed ↔ case with `subjectPerSeed`): each
 * unit chooses its annotated slices (the same for every method: paired), fine-tunes `pretrained`
 * on them — or, without a network, interpolates them — and scores the mean Dice over classes on
 * every other slice. With a store, each unit is computed once.
 */
async function diceByBudget(pretrained: Model | undefined, cases: readonly DiceCase[], o: DiceOptions): Promise<Record<string, DiceStats>> {
  const { config, mmPerPixel } = o;
  const out: Record<string, DiceStats> = {};
  const seeds = o.seeds ?? config.seeds;
  const units = seeds.flatMap((seed, n) => (config.subjectPerSeed && cases.length > 1 ? [[seed, cases[n % cases.length]!] as const] : cases.map((c) => [seed, c] as const)));
  for (const k of o.budgets ?? config.budgets) {
    const samples: number[] = [];
    for (const [seed, c] of units) {
      const compute = async (): Promise<number> => {
        const annotated = chooseSlices(k, labelledRange(c.labels, c.classes), mulberry32(mixSeed(config.seed, seed, k, hashString(c.id))));
        const heldOut = [...Array(c.volume.dims[2]).keys()].filter((z) => !annotated.includes(z));
        const annotation = { id: c.id, volume: c.volume, labels: c.labels, slices: annotated };
        let predicted: Volume<Uint8Array>;
        if (pretrained === undefined) predicted = await interpolateAnnotation(annotation, c.classes);
        else {
          const unet = unetFromEncoder(pretrained, { classes: c.classes.length + 1, seed: config.seed + 100 + seed });
          const net = asTrainable(unet);
          const input = { mmPerPixel, window: config.window };
          if (pretrained.spec.encoder.dims === 3) {
            // A 3D U-Net on crops of consecutive slices, the loss on the same annotated slices only.
            const v = volumetricSettings(config);
            const data = [prepareVolumeAnnotation(annotation, config.size, c.classes, input)];
            await finetune({ model: net, data, config: { window: config.window, ...config.finetune, batch: v.batch, depth: v.depth, seed: config.seed + seed } });
            predicted = await predictVolume(net, c.volume, { size: config.size, ...input, classes: c.classes, depth: v.depth });
          } else {
            await finetune({ model: net, data: [prepareAnnotation(annotation, config.size, c.classes, input)], config: { window: config.window, ...config.finetune, seed: config.seed + seed } });
            predicted = await predictVolume(net, c.volume, { size: config.size, ...input, classes: c.classes });
          }
          unet.dispose();
        }
        const dice = dicePerClass(predicted, c.labels, c.classes, heldOut);
        return Object.values(dice).reduce((s, d) => s + d, 0) / c.classes.length;
      };
      const key = `dice/${keyPart(o.unitName)}/${keyPart(c.id)}/k${k}-s${seed}`;
      if (o.store && o.only && !o.only(k, seed, o.on) && !o.store.has(key)) {
        samples.push(Number.NaN); // another job's unit
        continue;
      }
      samples.push(o.store ? await o.store.unit(key, compute) : await compute());
    }
    const stats = { ...meanInterval(samples), samples };
    out[String(k)] = stats;
    if (samples.some(Number.isNaN)) continue;
    o.log(`  ${o.tag}: ${k} slices → Dice ${stats.mean.toFixed(3)} [${stats.ci95[0].toFixed(3)}, ${stats.ci95[1].toFixed(3)}] (n ${stats.n})`);
  }
  return out;
}

export interface RealResult {
  readonly dice: Record<string, Record<string, DiceStats>>;
  readonly localizationMm: Record<string, Record<string, number | null>>;
  readonly spearman: Record<string, number>;
}

/** A real labelled volume, axial (as the encoders were pre-trained), with its classes. */
export interface RealCase {
  readonly name: RealCaseName;
  readonly volume: Volume;
  readonly labels: Volume<Uint8Array>;
  readonly classes: readonly SegmentClass[];
}

/**
 * Runs the comparison: pre-train each method on the phantom cohort, measure time and memory,
 * score held-out subjects (Spearman, stack localization), fine-tune on k annotated slices of
 * held-out subjects (Dice on the other slices), and the same on the head CT when given.
 */
export async function runExperiment(
  config: ExperimentConfig,
  backend: string,
  log: ExperimentLog,
  realCases: readonly RealCase[] = [],
  store?: ExperimentStore,
  sameSubject?: SameSubjectCase,
  only?: UnitFilter,
): Promise<ExperimentResult> {
  const t0 = performance.now();
  const sources = phantomSources({ subjects: config.pretrain.subjects, seed: config.seed });
  const mmPerPixel = config.mmPerPixel ?? fitMmPerPixel(await sources[0]!.load(), 'axial', config.size);
  log(`loading ${config.pretrain.subjects} phantom subjects (cohort ${config.seed}) at ${config.size}², ${mmPerPixel} mm/pixel`);
  const prep = { plane: 'axial', size: config.size, mmPerPixel, window: config.window } as const;
  const volumes = await loadPrepared(sources, prep);
  const cases: DiceCase[] = heldOutDiceSubjects(config).map((s) => ({ id: `${s.id}@${s.seed}`, volume: s.volume, labels: s.labels, classes: PHANTOM_CLASSES }));
  const locVolumes: { prepared: PreparedVolume; scale: number }[] = [];
  for (let n = 0; locVolumes.length < config.localization.subjects && n < 500; n++) {
    const s = phantomSubject(n, config.seed + 1, { size: config.size });
    if (s.zRangeMm[1] - s.zRangeMm[0] < 300) continue;
    locVolumes.push({ prepared: prepareVolume(`${s.id}@${s.seed}`, s.volume, prep), scale: 1 / s.params.height });
  }
  const real = realCases.map((c) => ({
    name: c.name,
    dice: { id: `sample:${c.name}`, volume: c.volume, labels: c.labels, classes: c.classes } satisfies DiceCase,
    prepared: [{ prepared: prepareVolume(`sample:${c.name}`, c.volume, prep), scale: 1 }],
  }));
  if (store) {
    const done = store.count();
    log(done > 0 ? `resuming: ${done} finished units in ${store.dir}` : `finished units go to ${store.dir} (rerun with --resume to continue a stopped run)`);
  }

  const result: ExperimentResult = {
    config,
    mmPerPixel,
    backend,
    dice: {},
    localizationMm: {},
    localizationReferences: {},
    spearman: {},
    pretrainSeconds: {},
    peakBytes: {},
    pretrainLoss: {},
    real: Object.fromEntries(real.map((c) => [c.name, { dice: {}, localizationMm: {}, spearman: {} }])),
    timeToQuality: {},
    localizationCoverage: {},
    commits: [],
    seconds: 0,
  };
  const diceOptions = (method: string, on: string): DiceOptions => ({ config, mmPerPixel, log, tag: `${method} ${on}`, unitName: method, on, store, only });
  const ttq = config.timeToQuality;
  for (const method of config.methods) {
    if (NO_NETWORK.includes(method)) {
      log(`${method}: no network (contour interpolation of the annotated slices)`);
      result.dice[method] = await diceByBudget(undefined, cases, diceOptions(method, 'phantom'));
      for (const c of real) result.real[c.name]!.dice[method] = await diceByBudget(undefined, [c.dice], diceOptions(method, c.name));
      continue;
    }
    const what = isVolumetric(method) ? `${volumetricSettings(config).samples} samples (3D)` : `${config.pretrain.slicesPerStep} source slices`;
    log(`${method}: pre-training${method === 'scratch' || method === 'scratch3d' ? ' (none: random weights)' : ` ${config.pretrain.steps} steps × ${what}`}`);
    const { model, seconds, peakBytes, losses, snapshots } = await pretrain(method, config, volumes, mmPerPixel, log, store);
    if (losses.length > 0) result.pretrainLoss[method] = losses;
    result.pretrainSeconds[method] = seconds;
    result.peakBytes[method] = peakBytes;
    const scores = async () => {
      const scorer = await scorerFor(method, model, config, volumes);
      const scored = await scoreAll(scorer, locVolumes, config.window);
      const loc = localizationErrors(scored, config, config.localization.stacksPerPair);
      const own: Record<string, { spearman: number; localizationMm: Record<string, number | null> }> = {};
      for (const c of real) {
        const within = await scoreAll(scorer, c.prepared, config.window);
        // One real volume: stacks are placed within the volume itself (score self-consistency).
        own[c.name] = { spearman: meanSpearman(within), localizationMm: localizationErrors(within, config, config.localization.stacksPerPair * 4, true).medians };
      }
      if (scorer !== model) scorer.dispose();
      const coverage = locVolumes.length >= 5 ? leaveTwoOutCoverage(scored, { stacks: config.localization.stacks, perPair: config.localization.stacksPerPair, seed: config.seed + 11 }) : {};
      return { spearman: meanSpearman(scored), localizationMm: loc.medians, references: loc.references, coverage, real: own };
    };
    // A 3D encoder has no slice scores (a score is the 2D encoders' pretext and probe): no ρ or localization.
    const s = isVolumetric(method) ? undefined : store ? await store.unit(`scores-${method}`, scores) : await scores();
    if (s) {
    result.spearman[method] = s.spearman;
    result.localizationMm[method] = s.localizationMm;
    result.localizationReferences[method] = s.references;
    result.localizationCoverage[method] = s.coverage;
    for (const c of real) {
      const own = s.real[c.name];
      if (!own) continue;
      result.real[c.name]!.spearman[method] = own.spearman;
      result.real[c.name]!.localizationMm[method] = own.localizationMm;
    }
    log(`  ${method}: held-out ρ ${s.spearman.toFixed(3)}, localization ${JSON.stringify(s.localizationMm)} mm`);
    }
    result.dice[method] = await diceByBudget(model, cases, diceOptions(method, 'phantom'));
    for (const c of real) result.real[c.name]!.dice[method] = await diceByBudget(model, [c.dice], diceOptions(method, c.name));
    if (ttq) {
      const seeds = config.seeds.slice(0, ttq.seeds);
      const points: QualityPoint[] = [];
      for (const snap of snapshots) {
        const at = `${method}@${snap.step}`;
        const dice = await diceByBudget(snap.model, cases, { ...diceOptions(at, 'phantom'), budgets: [ttq.budget], seeds });
        points.push({ step: snap.step, seconds: snap.seconds, dice: dice[String(ttq.budget)]! });
        snap.model.dispose();
      }
      // The finished encoder on the same units (the first seeds of the main grid: stored, not run again).
      const last = await diceByBudget(model, cases, { ...diceOptions(method, 'phantom'), budgets: [ttq.budget], seeds });
      points.push({ step: method === 'scratch' || method === 'scratch3d' ? 0 : config.pretrain.steps, seconds, dice: last[String(ttq.budget)]! });
      result.timeToQuality[method] = points;
    }
    model.dispose();
  }
  const same = sameSubject && config.sameSubject && config.methods.includes('sorting') ? await sameSubjectLocalization(sameSubject, config, prep, log, store) : undefined;
  return { ...result, ...(same ? { sameSubject: same } : {}), commits: store ? store.commits() : [], seconds: (performance.now() - t0) / 1000 };
}

/**
 * Localization without a subject offset: SortingLoss pre-trained on both reconstructions of a
 * subject (Colin27's ch2 is the whole head with the neck, ch2better a 0.5 mm reconstruction of a
 * smaller field of view, nothing below z ≈ −50 mm: a small net trained 300 steps on ch2 alone
 * ordered ch2better's sub-stacks backwards, ρ ≈ −0.8), stacks of each placed in
 * the other (the same physical scale, positions in their shared frame) — what a prior scan of the
 * same patient allows.
 */
async function sameSubjectLocalization(
  c: SameSubjectCase,
  config: ExperimentConfig,
  prep: { readonly plane: 'axial'; readonly size: number; readonly mmPerPixel: number; readonly window: HuWindow },
  log: ExperimentLog,
  store?: ExperimentStore,
): Promise<SameSubjectResult> {
  const settings = config.sameSubject!;
  const compute = async (): Promise<SameSubjectResult> => {
    const prepared = c.volumes.map((v, i) => prepareVolume(c.ids[i]!, v, prep));
    log(`same subject: SortingLoss pre-trained on ${c.ids.join(' and ')} for ${settings.steps} steps`);
    const model = createModel(scoreModelSpec(encoderSpec(config.model)), { seed: config.seed + 1 });
    await train({
      model: asTrainable(model),
      volumes: prepared,
      config: pretextTrainConfig(config, { ...pretrainMethod('sorting', config.pretrain.slicesPerStep)!, augmentation: sortingAugmentationFor(prepared) } as MethodConfig, settings.steps, {
        seed: config.seed,
        schedule: { kind: 'cosine', warmupSteps: Math.min(10, settings.steps) },
        checkpointEvery: 0,
      }),
    });
    const scored = await scoreAll(model, prepared.map((p) => ({ prepared: p, scale: 1 })), config.window);
    model.dispose();
    const directions: Record<string, Record<string, number | null>> = {};
    for (const [ref, src] of [[0, 1], [1, 0]] as const) {
      const e = stackLocalizationErrors(scored, { stacks: config.localization.stacks, perPair: settings.perPair, seed: config.seed + ref, pairs: (r, q) => r === ref && q === src });
      directions[`${c.ids[src]} in ${c.ids[ref]}`] = medianStackErrors(e);
    }
    const spearman = Object.fromEntries(c.ids.map((id, i) => [id, meanSpearman([scored[i]!])]));
    log(`  same subject: ${JSON.stringify(directions)} mm`);
    return { directions, spearman, steps: settings.steps };
  };
  return store ? store.unit('same-subject', compute) : compute();
}

/** A real volume reoriented to axial slices (as the encoders were pre-trained), with its labels. */
export function axialCase(name: RealCaseName, volume: Volume, labels: Volume<Uint8Array>, classes: readonly SegmentClass[]): RealCase {
  return { name, volume: reorient(volume, 'axial'), labels: reorient(labels, 'axial'), classes };
}

/** One result from per-method results of the same configuration (run in parallel processes). */
export function mergeResults(config: ExperimentConfig, parts: readonly ExperimentResult[], seconds: number): ExperimentResult {
  // Methods in config order; a method a part does not report (interpolation has no scores) stays absent.
  const byMethod = <T>(blocks: readonly Record<string, T>[]): Record<string, T> =>
    Object.fromEntries(config.methods.flatMap((m) => blocks.filter((b) => m in b).map((b) => [m, b[m]!] as const).slice(0, 1)));
  const pick = <K extends 'dice' | 'localizationMm' | 'localizationReferences' | 'spearman' | 'pretrainSeconds' | 'peakBytes' | 'pretrainLoss' | 'timeToQuality' | 'localizationCoverage'>(key: K): ExperimentResult[K] =>
    byMethod(parts.map((p) => p[key] as Record<string, unknown>)) as ExperimentResult[K];
  const pickReal = <K extends keyof RealResult>(name: RealCaseName, key: K) =>
    byMethod(parts.map((p) => p.real[name]).filter((c) => c !== undefined).map((c) => c[key] as Record<string, unknown>)) as RealResult[K];
  const realNames = REAL_CASES.filter((n) => parts.some((p) => p.real[n]));
  const sameSubject = parts.find((p) => p.sameSubject)?.sameSubject;
  return {
    config,
    mmPerPixel: parts[0]?.mmPerPixel ?? Number.NaN,
    backend: parts[0]?.backend ?? '',
    dice: pick('dice'),
    localizationMm: pick('localizationMm'),
    localizationReferences: pick('localizationReferences'),
    spearman: pick('spearman'),
    pretrainSeconds: pick('pretrainSeconds'),
    peakBytes: pick('peakBytes'),
    pretrainLoss: pick('pretrainLoss'),
    real: Object.fromEntries(realNames.map((n) => [n, { dice: pickReal(n, 'dice'), localizationMm: pickReal(n, 'localizationMm'), spearman: pickReal(n, 'spearman') }])),
    timeToQuality: pick('timeToQuality'),
    localizationCoverage: pick('localizationCoverage'),
    ...(sameSubject ? { sameSubject } : {}),
    commits: [...new Set(parts.flatMap((p) => p.commits))].sort(),
    seconds,
  };
}
