import * as tf from '@tensorflow/tfjs-core';
import { meanSpearman, medianStackErrors, scoreVolume, stackLocalizationErrors } from '@tomosort/localize';
import type { ScoredVolume } from '@tomosort/localize';
import { createModel, encoderSpec, projectionModelSpec, scoreFromEncoder, scoreModelSpec, unetFromEncoder } from '@tomosort/models';
import type { EncoderPreset, Model } from '@tomosort/models';
import { SORTING_AUGMENTATION, loadPrepared, phantomSources, prepareVolume } from '@tomosort/pretext';
import type { PreparedVolume } from '@tomosort/pretext';
import { PHANTOM_ORGAN_ID, phantomSubject } from '@tomosort/samples';
import type { PhantomSubject } from '@tomosort/samples';
import { dicePerClass, finetune, predictVolume, prepareAnnotation } from '@tomosort/segment';
import type { SegmentClass } from '@tomosort/segment';
import { asTrainable, train, withTrainable } from '@tomosort/train';
import type { MethodConfig } from '@tomosort/train';
import { reorient } from '@tomosort/volume';
import type { HuWindow, Volume } from '@tomosort/volume';

export const EXPERIMENT_METHODS = ['scratch', 'simclr', 'barlow', 'sorting'] as const;
export type ExperimentMethod = (typeof EXPERIMENT_METHODS)[number];

export interface ExperimentConfig {
  readonly seed: number;
  readonly model: EncoderPreset;
  readonly size: number;
  readonly window: HuWindow;
  readonly methods: readonly ExperimentMethod[];
  /** Pre-training on phantom cohort `seed` (unlabelled), the same slices per step for every method. */
  readonly pretrain: { readonly subjects: number; readonly steps: number; readonly slicesPerStep: number; readonly learningRate: number };
  /** Fine-tuning per (method, budget, decoder seed, subject). */
  readonly finetune: { readonly frozenSteps: number; readonly steps: number; readonly batch: number; readonly learningRate: number };
  /** Annotated slices per subject. */
  readonly budgets: readonly number[];
  readonly decoderSeeds: readonly number[];
  /** Held-out phantom subjects (cohort seed + 1) for Dice. */
  readonly phantomSubjects: number;
  readonly localization: {
    /** Held-out phantom subjects used as references and stack sources (each ≥ 300 mm long). */
    readonly subjects: number;
    readonly stacks: readonly number[];
    readonly stacksPerPair: number;
    /** Steps of a score-head probe on a frozen encoder for methods without a score head. */
    readonly probeSteps: number;
  };
  readonly cranium: boolean;
}

export interface MeanSd {
  readonly mean: number;
  readonly sd: number;
  readonly n: number;
}

export interface ExperimentResult {
  readonly config: ExperimentConfig;
  readonly backend: string;
  /** Mean held-out Dice over classes; mean ± sd over decoder seeds (each the mean over subjects). */
  readonly dice: Record<string, Record<string, MeanSd>>;
  /** Median absolute localization error of held-out stacks (mm); null where no reference could be fitted. */
  readonly localizationMm: Record<string, Record<string, number | null>>;
  /** References whose score map could be fitted (|ρ| ≥ 0.5), of those tried: the medians rest on these. */
  readonly localizationReferences: Record<string, { readonly fitted: number; readonly tried: number }>;
  /** Mean held-out Spearman ρ between slice score and position. */
  readonly spearman: Record<string, number>;
  readonly pretrainSeconds: Record<string, number>;
  /** tf.memory peak bytes during pre-training. */
  readonly peakBytes: Record<string, number>;
  readonly cranium?: {
    readonly dice: Record<string, Record<string, MeanSd>>;
    readonly localizationMm: Record<string, Record<string, number | null>>;
    readonly spearman: Record<string, number>;
  };
  readonly seconds: number;
}

export type ExperimentLog = (message: string) => void;

/** The organs fine-tuned on the phantom. */
export const PHANTOM_CLASSES: readonly SegmentClass[] = [
  { value: PHANTOM_ORGAN_ID.lungs, name: 'lungs' },
  { value: PHANTOM_ORGAN_ID.heart, name: 'heart' },
  { value: PHANTOM_ORGAN_ID.liver, name: 'liver' },
];

export function meanSd(xs: readonly number[]): MeanSd {
  const n = xs.length;
  const mean = xs.reduce((s, x) => s + x, 0) / Math.max(1, n);
  const sd = n > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/** `k` slice indices spread evenly over `range` = [first, last] (centres of k equal parts). */
export function spreadSlices(k: number, [first, last]: readonly [number, number]): number[] {
  const span = last - first + 1;
  return [...new Set(Array.from({ length: Math.min(k, span) }, (_, i) => first + Math.floor(((i + 0.5) * span) / Math.min(k, span))))];
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
  if (method === 'simclr') return { kind: 'simclr', slices: slices / 2 };
  if (method === 'barlow') return { kind: 'barlow', slices: slices / 2 };
  return undefined;
}

async function pretrain(method: ExperimentMethod, config: ExperimentConfig, volumes: readonly PreparedVolume[], log: ExperimentLog) {
  const encoder = encoderSpec(config.model);
  const m = pretrainMethod(method, config.pretrain.slicesPerStep);
  const build = () => createModel(m === undefined || m.kind === 'sorting' ? scoreModelSpec(encoder) : projectionModelSpec(encoder), { seed: config.seed + 1 });
  const model = build();
  if (m === undefined) return { model, seconds: 0, peakBytes: 0 };
  const run = (net: Model, steps: number, onEvent?: Parameters<typeof train>[0]['onEvent']) =>
    train({
      model: asTrainable(net),
      volumes,
      config: {
        method: m,
        steps,
        learningRate: config.pretrain.learningRate,
        optimizer: { kind: 'adam' },
        schedule: { kind: 'cosine', warmupSteps: Math.min(10, config.pretrain.steps) },
        clipNorm: 5,
        window: config.window,
        seed: config.seed,
        checkpointEvery: 0,
      },
      ...(onEvent ? { onEvent } : {}),
    });
  // Peak memory from 3 profiled steps of a throwaway copy: a step's peak is the same at every
  // step, and profiling the whole run records every kernel (tf.profile then overflows the stack).
  const probe = build();
  const info = await tf.profile(async () => {
    await run(probe, Math.min(3, config.pretrain.steps));
  });
  probe.dispose();
  const t0 = performance.now();
  let last = 0;
  await run(model, config.pretrain.steps, (e) => {
    if (e.type === 'step' && performance.now() - last > 15_000) {
      last = performance.now();
      log(`  ${method}: step ${e.step}/${e.steps}, loss ${e.loss.toFixed(4)}`);
    }
  });
  return { model, seconds: (performance.now() - t0) / 1000, peakBytes: info.peakBytes };
}

/** The model's slice scorer: its own score head, or a score-head probe trained on its frozen encoder. */
async function scorerFor(method: ExperimentMethod, pretrained: Model, config: ExperimentConfig, volumes: readonly PreparedVolume[]): Promise<Model> {
  if (method === 'sorting') return pretrained;
  const probe = scoreFromEncoder(pretrained, { seed: config.seed + 7 });
  await train({
    model: withTrainable(asTrainable(probe), (name) => !name.startsWith('encoder/')),
    volumes,
    config: {
      method: pretrainMethod('sorting', config.pretrain.slicesPerStep)!,
      steps: config.localization.probeSteps,
      learningRate: config.pretrain.learningRate,
      optimizer: { kind: 'adam' },
      schedule: { kind: 'constant' },
      clipNorm: 5,
      window: config.window,
      seed: config.seed + 7,
      checkpointEvery: 0,
    },
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

/** Mean held-out Dice per budget: mean over subjects per decoder seed, then mean ± sd over seeds. */
async function diceByBudget(pretrained: Model, cases: readonly DiceCase[], config: ExperimentConfig, log: ExperimentLog, tag: string): Promise<Record<string, MeanSd>> {
  const out: Record<string, MeanSd> = {};
  for (const k of config.budgets) {
    const perSeed: number[] = [];
    for (const seed of config.decoderSeeds) {
      let total = 0;
      for (const c of cases) {
        const annotated = spreadSlices(k, labelledRange(c.labels, c.classes));
        const heldOut = [...Array(c.volume.dims[2]).keys()].filter((z) => !annotated.includes(z));
        const data = [prepareAnnotation({ id: c.id, volume: c.volume, labels: c.labels, slices: annotated }, config.size, c.classes)];
        const unet = unetFromEncoder(pretrained, { classes: c.classes.length + 1, seed: config.seed + 100 + seed });
        const net = asTrainable(unet);
        await finetune({ model: net, data, config: { window: config.window, ...config.finetune, seed: config.seed + seed } });
        const dice = dicePerClass(await predictVolume(net, c.volume, { size: config.size, window: config.window, classes: c.classes }), c.labels, c.classes, heldOut);
        unet.dispose();
        total += Object.values(dice).reduce((s, d) => s + d, 0) / c.classes.length;
      }
      perSeed.push(total / cases.length);
    }
    out[String(k)] = meanSd(perSeed);
    log(`  ${tag}: ${k} slices → Dice ${out[String(k)]!.mean.toFixed(3)} ± ${out[String(k)]!.sd.toFixed(3)}`);
  }
  return out;
}

/** The sample head CT, axial, with its masks: the second, real dataset. */
export interface CraniumCase {
  readonly volume: Volume;
  readonly labels: Volume<Uint8Array>;
  readonly classes: readonly SegmentClass[];
}

/**
 * Runs the comparison: pre-train each method on the phantom cohort, measure time and memory,
 * score held-out subjects (Spearman, stack localization), fine-tune on k annotated slices of
 * held-out subjects (Dice on the other slices), and the same on the head CT when given.
 */
export async function runExperiment(config: ExperimentConfig, backend: string, log: ExperimentLog, cranium?: CraniumCase): Promise<ExperimentResult> {
  const t0 = performance.now();
  log(`loading ${config.pretrain.subjects} phantom subjects (cohort ${config.seed}) at ${config.size}²`);
  const volumes = await loadPrepared(phantomSources({ subjects: config.pretrain.subjects, seed: config.seed }), { plane: 'axial', size: config.size });
  const cases: DiceCase[] = heldOutDiceSubjects(config).map((s) => ({ id: `${s.id}@${s.seed}`, volume: s.volume, labels: s.labels, classes: PHANTOM_CLASSES }));
  const locVolumes: { prepared: PreparedVolume; scale: number }[] = [];
  for (let n = 0; locVolumes.length < config.localization.subjects && n < 500; n++) {
    const s = phantomSubject(n, config.seed + 1, { size: config.size });
    if (s.zRangeMm[1] - s.zRangeMm[0] < 300) continue;
    locVolumes.push({ prepared: prepareVolume(`${s.id}@${s.seed}`, s.volume, { plane: 'axial', size: config.size }), scale: 1 / s.params.height });
  }
  const craniumCase: DiceCase | undefined = cranium && { id: 'sample:cranium', ...cranium };
  const craniumPrepared = cranium && [{ prepared: prepareVolume('sample:cranium', cranium.volume, { plane: 'axial', size: config.size }), scale: 1 }];

  const result: ExperimentResult = {
    config,
    backend,
    dice: {},
    localizationMm: {},
    localizationReferences: {},
    spearman: {},
    pretrainSeconds: {},
    peakBytes: {},
    ...(cranium ? { cranium: { dice: {}, localizationMm: {}, spearman: {} } } : {}),
    seconds: 0,
  };
  for (const method of config.methods) {
    log(`${method}: pre-training${method === 'scratch' ? ' (none: random weights)' : ` ${config.pretrain.steps} steps × ${config.pretrain.slicesPerStep} slices`}`);
    const { model, seconds, peakBytes } = await pretrain(method, config, volumes, log);
    result.pretrainSeconds[method] = seconds;
    result.peakBytes[method] = peakBytes;
    const scorer = await scorerFor(method, model, config, volumes);
    const scored = await scoreAll(scorer, locVolumes, config.window);
    result.spearman[method] = meanSpearman(scored);
    const loc = localizationErrors(scored, config, config.localization.stacksPerPair);
    result.localizationMm[method] = loc.medians;
    result.localizationReferences[method] = loc.references;
    log(`  ${method}: held-out ρ ${result.spearman[method]!.toFixed(3)}, localization ${JSON.stringify(result.localizationMm[method])} mm`);
    if (craniumPrepared && result.cranium) {
      const own = await scoreAll(scorer, craniumPrepared, config.window);
      result.cranium.spearman[method] = meanSpearman(own);
      // One real volume: stacks are placed within the volume itself (score self-consistency).
      result.cranium.localizationMm[method] = localizationErrors(own, config, config.localization.stacksPerPair * 4, true).medians;
    }
    if (scorer !== model) scorer.dispose();
    result.dice[method] = await diceByBudget(model, cases, config, log, `${method} phantom`);
    if (craniumCase && result.cranium) result.cranium.dice[method] = await diceByBudget(model, [craniumCase], config, log, `${method} cranium`);
    model.dispose();
  }
  return { ...result, seconds: (performance.now() - t0) / 1000 };
}

/** The head CT reoriented to axial slices (as the encoders were pre-trained), with its masks. */
export function axialCase(volume: Volume, labels: Volume<Uint8Array>, classes: readonly SegmentClass[]): CraniumCase {
  return { volume: reorient(volume, 'axial'), labels: reorient(labels, 'axial'), classes };
}

/** One result from per-method results of the same configuration (run in parallel processes). */
export function mergeResults(config: ExperimentConfig, parts: readonly ExperimentResult[], seconds: number): ExperimentResult {
  const pick = <K extends 'dice' | 'localizationMm' | 'localizationReferences' | 'spearman' | 'pretrainSeconds' | 'peakBytes'>(key: K): ExperimentResult[K] =>
    Object.assign({}, ...config.methods.map((m) => ({ [m]: parts.find((p) => m in p[key])?.[key][m] }))) as ExperimentResult[K];
  const cr = parts.map((p) => p.cranium).filter((c) => c !== undefined);
  const pickCr = <K extends 'dice' | 'localizationMm' | 'spearman'>(key: K) =>
    Object.assign({}, ...config.methods.map((m) => ({ [m]: cr.find((c) => m in c[key])?.[key][m] }))) as NonNullable<ExperimentResult['cranium']>[K];
  return {
    config,
    backend: parts[0]?.backend ?? '',
    dice: pick('dice'),
    localizationMm: pick('localizationMm'),
    localizationReferences: pick('localizationReferences'),
    spearman: pick('spearman'),
    pretrainSeconds: pick('pretrainSeconds'),
    peakBytes: pick('peakBytes'),
    ...(cr.length ? { cranium: { dice: pickCr('dice'), localizationMm: pickCr('localizationMm'), spearman: pickCr('spearman') } } : {}),
    seconds,
  };
}
