import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ENCODER_PRESETS, createModel, encoderSpec, projectionModelSpec, scoreModelSpec } from '@tomosort/models';
import type { Model } from '@tomosort/models';
import { saveModelToDir } from '@tomosort/models/node';
import { CSPR_DEPTH, fitMmPerPixel, fitScaleToFirst, labelledPhantomSlices, loadPrepared, prepareVolume, sortingAugmentationFor } from '@tomosort/pretext';
import type { PrepareOptions } from '@tomosort/pretext';
import { LocalizeError, calibrateLocalization, calibrationToMetrics, scoreVolume } from '@tomosort/localize';
import type { ScoredVolume } from '@tomosort/localize';
import { phantomSubject } from '@tomosort/samples';
import type { TrainableModel } from '@tomosort/train';
import { DEFAULT_INTENSITY } from '@tomosort/volume';
import { asTrainable, evaluateSorting, train } from '@tomosort/train';
import { CSPR_LABEL_SMOOTHING, PROXY3D_METHODS, csprAccuracy, csprModelSpec, csprTask, cubeSideOf, drawProxy3d, isProxy3d, proxy3dAccuracy, proxy3dModelSpec } from '@tomosort/train';
import type { MethodConfig, Proxy3dConfig, Proxy3dName, TaskMethodConfig, TrainConfig, TrainEvent } from '@tomosort/train';
import type { PreparedVolume } from '@tomosort/pretext';
import { mixSeed, mulberry32 } from '@tomosort/random';
import { FileCheckpointStore } from '@tomosort/train/node';
import { readShardStore } from '@tomosort/pretext/node';
import type { ShardParams } from '@tomosort/pretext/node';
import type { Command } from '../cli';
import { BACKEND_OPTIONS, BACKEND_USAGE, startBackend } from '../backendOption';
import { userPath } from '../env';
import { UsageError } from '../errors';
import { JSON_OPTION, PACS_OPTION, intOption, numOption, oneOfOption, pairOption, parse } from '../parse';
import { connectPacs } from '../pacsConnection';
import { progressBar } from '../progress';
import { TrainLog, reportResume } from '../trainLog';
import { median } from '../stats';
import { isPhantomSpec, parseTrainSources } from '../trainSources';

const USAGE = `usage: pnpm tomosort pretrain --out DIR [options]

  --method M        sorting (default) | simclr | barlow | rotation3d | rpl3d | jigsaw3d | exemplar3d | cpc3d | cspr
                    (the 3D proxy tasks of Taleb et al. 2020: cubes of isotropic voxels at --mm-per-pixel,
                    a 3D encoder, --model unet-down by default; cspr: supervised 3D pre-training of a 3D
                    --model (default resnet18) that strides in-plane only, on the phantom's labelled slices —
                    slices k−1, k, k+1 as a depth-3 volume in shuffled order, class = the organ covering most
                    of slice k — with label smoothing 0.1)
  --source S        sample:phantom[:N] (default sample:phantom:8) | sample:cranium | sample:colin27[:better] | pacs:UID[,UID] | pacs:* | a folder |
                    prepared:STORE (shards from \`tomosort prepare\`: their plane, size, scale and window)
  --holdout H       volumes kept out of training to measure slice-order Spearman ρ (default 2 when the source has ≥ 4)
  --model A         small | resnet18 (default) | resnet34 | resnet50 | unet-down;  --width W  channel multiplier (default 1)
  --size S          slice size in pixels (default 128; 64 for the 3D tasks)
  --plane P         axial (default) | coronal | sagittal: slices are taken across this plane (recorded in
                    the manifest; finetune and localize use it)
  --mm-per-pixel X  in-plane physical scale of the input (default: the first volume's larger
                    in-plane extent ÷ size); recorded in the model and used by everything after
  --steps N         optimiser steps (default 1000)
  --batch N         slices per step (default 32); sorting: N / --slices volumes of --slices slices; 3D tasks:
                    samples per step (default 8)
  --slices K        slices per volume for sorting (default 8)
  --gap MIN,MAX     gap between sampled slices in mm (default 5,40)
  --loss L          listmle (default) | pairwise | adjacent  (sorting)
  --cube N          3D tasks: rotation3d and exemplar3d cube side in voxels (default 32)
  --patch N         3D tasks: rpl3d, jigsaw3d and cpc3d patch side (default 8), --jitter J voxels (default 2;
                    cpc3d 0) inside each cell of the 3×3×3 (rpl3d, jigsaw3d) or 4×4×4 (cpc3d) grid
  --permutations N  jigsaw3d classes (default 100); --context-rows R  cpc3d rows the context reads (default 2)
  --window C,W      HU window centre,width (default 40,400: soft tissue, sorts CT best)
  --lr X            peak learning rate (default 0.001); --warmup N steps (default 5% of steps); --clip X (default 5)
  --optimizer O     adam (default) | sgd
  --seed S          seed of data, batches and initial weights (default 0)
  --checkpoint-every N  (default 50)
  --calibrate N     sorting on sample:phantom, axial: score N phantom subjects of the next cohort (never
                    trained on; default 12) and store the localization calibration (the error of
                    stacks placed across subjects) in the manifest, so that \`localize\` states
                    intervals that cover other subjects; 0 skips it. Other sources have no shared
                    anatomical frame to calibrate in: their models state reference-only intervals
${BACKEND_USAGE}
  --resume          continue from DIR/checkpoint
  --json            print a JSON summary at the end (and no progress bar)

Writes DIR/model (model.json + weights.bin with a manifest), DIR/checkpoint and DIR/train-log.jsonl.`;

export const pretrainCommand: Command = {
  usage: USAGE,
  async run(args) {
    const { values } = parse(
      args,
      {
        out: { type: 'string' },
        method: { type: 'string' },
        source: { type: 'string' },
        holdout: { type: 'string' },
        model: { type: 'string' },
        width: { type: 'string' },
        size: { type: 'string' },
        plane: { type: 'string' },
        'mm-per-pixel': { type: 'string' },
        steps: { type: 'string' },
        batch: { type: 'string' },
        slices: { type: 'string' },
        gap: { type: 'string' },
        loss: { type: 'string' },
        cube: { type: 'string' },
        patch: { type: 'string' },
        jitter: { type: 'string' },
        permutations: { type: 'string' },
        'context-rows': { type: 'string' },
        window: { type: 'string' },
        lr: { type: 'string' },
        warmup: { type: 'string' },
        clip: { type: 'string' },
        optimizer: { type: 'string' },
        seed: { type: 'string' },
        'checkpoint-every': { type: 'string' },
        calibrate: { type: 'string' },
        ...BACKEND_OPTIONS,
        resume: { type: 'boolean', default: false },
        ...PACS_OPTION,
        ...JSON_OPTION,
      },
      USAGE,
      false,
    );
    if (!values.out) throw new UsageError(`--out DIR is required\n\n${USAGE}`);
    const out = userPath(values.out);
    const method = oneOfOption('method', values.method, ['sorting', 'simclr', 'barlow', ...PROXY3D_METHODS, 'cspr'] as const, 'sorting');
    const cspr = method === 'cspr';
    const volumetric = isProxy3d(method) || cspr;
    const preset = oneOfOption('model', values.model, ENCODER_PRESETS, isProxy3d(method) ? 'unet-down' : 'resnet18');
    const sourceSpec = values.source ?? 'sample:phantom:8';
    // A shard store was prepared at one plane, size, scale and window: the model takes those.
    const shards = sourceSpec.startsWith('prepared:') ? readShardStore(userPath(sourceSpec.slice('prepared:'.length))) : undefined;
    if (shards) checkStoreOptions(values, shards.params, sourceSpec);
    const plane = shards?.params.plane ?? oneOfOption('plane', values.plane, ['axial', 'coronal', 'sagittal'] as const, 'axial');
    const size = shards?.params.size ?? intOption('size', values.size, volumetric ? 64 : 128, 8);
    const steps = intOption('steps', values.steps, 1000, 1);
    const batch = intOption('batch', values.batch, volumetric ? 8 : 32, volumetric ? 1 : 2);
    const K = intOption('slices', values.slices, 8, 2);
    const seed = intOption('seed', values.seed, 0);
    const phantomSource = isPhantomSpec(sourceSpec);
    const calibrate = intOption('calibrate', values.calibrate, method === 'sorting' && phantomSource && plane === 'axial' ? 12 : 0, 0);
    if (calibrate > 0 && (method !== 'sorting' || !phantomSource || plane !== 'axial')) {
      throw new UsageError('--calibrate needs --method sorting on sample:phantom, axial: a calibration compares the same anatomy across subjects, which only the phantoms know (along their height)');
    }
    if (calibrate > 0 && calibrate < 5) throw new UsageError(`--calibrate ${calibrate}: a calibration needs at least 5 subjects (use 0 to skip it)`);
    const [center, width] = shards ? [shards.params.window.center, shards.params.window.width] : pairOption('window', values.window, [40, 400]);
    const quiet = values.json || !process.stderr.isTTY;
    const bar = progressBar('pretrain', !quiet);

    if (cspr && !isPhantomSpec(sourceSpec)) {
      throw new UsageError(`--method cspr learns from labelled slices, the phantom cohort's (sample:phantom[:N]); ${sourceSpec} has no labels`);
    }
    let methodConfig: MethodConfig | TaskMethodConfig;
    if (cspr) {
      methodConfig = { kind: 'task', name: 'cspr', slicesPerStep: batch * CSPR_DEPTH, settings: { samples: batch, labelSmoothing: CSPR_LABEL_SMOOTHING } };
    } else if (method === 'sorting') {
      if (batch % K !== 0) throw new UsageError(`--batch ${batch} must be a multiple of --slices ${K} for sorting`);
      methodConfig = {
        kind: 'sorting',
        volumesPerBatch: batch / K,
        slicesPerVolume: K,
        gapMm: pairOption('gap', values.gap, [5, 40]),
        loss: { kind: oneOfOption('loss', values.loss, ['listmle', 'pairwise', 'adjacent'] as const, 'listmle') },
      };
    } else if (isProxy3d(method)) {
      methodConfig = proxy3dOptions(method, values, batch, size);
    } else {
      if (batch % 2 !== 0) throw new UsageError(`--batch ${batch} must be even for ${method} (two views per slice)`);
      methodConfig = method === 'simclr' ? { kind: 'simclr', slices: batch / 2 } : { kind: 'barlow', slices: batch / 2 };
    }
    let config: TrainConfig = {
      method: methodConfig,
      steps,
      learningRate: numOption('lr', values.lr, 1e-3),
      optimizer: { kind: oneOfOption('optimizer', values.optimizer, ['adam', 'sgd'] as const, 'adam') },
      schedule: { kind: 'cosine', warmupSteps: intOption('warmup', values.warmup, Math.max(1, Math.round(steps * 0.05)), 0) },
      clipNorm: numOption('clip', values.clip, 5),
      window: { center, width },
      seed,
      checkpointEvery: intOption('checkpoint-every', values['checkpoint-every'], 50, 0),
    };

    const backend = await startBackend(values, quiet);
    let sources = shards
      ? []
      : await parseTrainSources(sourceSpec, {
          seed,
          pacs: () => connectPacs(values.pacs),
          warn: (m) => process.stderr.write(`warning: ${m}\n`),
        });
    const count = shards ? shards.volumes.length : sources.length;
    const holdout = intOption('holdout', values.holdout, count >= 4 ? 2 : 0, 0);
    if (holdout >= count) throw new UsageError(`--holdout ${holdout} leaves no volume to train on (the source has ${count})`);
    const loadBar = progressBar('load volumes', !quiet);
    let mmPerPixel: number;
    if (shards) mmPerPixel = shards.params.mmPerPixel;
    else if (values['mm-per-pixel'] === undefined) {
      // Fitted to the first volume, which is then prepared from that load (not fetched twice).
      ({ mmPerPixel, sources } = await fitScaleToFirst(sources, plane, size));
    } else mmPerPixel = numOption('mm-per-pixel', values['mm-per-pixel'], 1);
    if (!(mmPerPixel > 0)) throw new UsageError(`--mm-per-pixel must be positive, got ${mmPerPixel}`);
    // CSPR reads the phantoms with their labels (labelledPhantomSlices) instead.
    const volumes = shards ? shards.volumes : cspr ? [] : await loadPrepared(sources, { plane, size, mmPerPixel, window: config.window, onProgress: (d, t) => loadBar.update(d, t) });
    const trainSlabs = cspr ? labelledPhantomSlices({ subjects: count - holdout, seed, prepare: { plane, size, mmPerPixel, window: config.window } }) : undefined;
    const slabs = trainSlabs && {
      train: trainSlabs,
      // the held-out subjects keep the training classes' indices
      heldOut: holdout > 0 ? labelledPhantomSlices({ subjects: holdout, first: count - holdout, seed, prepare: { plane, size, mmPerPixel, window: config.window }, classes: trainSlabs.classes }) : undefined,
    };
    loadBar.done(`${slabs ? count : volumes.length} volumes at ${size}², ${mmPerPixel} mm/pixel (field of view ${(size * mmPerPixel).toFixed(0)} mm)${slabs ? `; ${slabs.train.classes.length} slice classes (${slabs.train.classes.join(', ')})` : ''}`);
    const trainVolumes = volumes.slice(0, volumes.length - holdout);
    const heldOut = volumes.slice(volumes.length - holdout);
    // MR and other percentile-mapped volumes get a wider intensity augmentation (their gain varies with the field of view).
    if (config.method.kind === 'sorting') config = { ...config, method: { ...config.method, augmentation: sortingAugmentationFor(trainVolumes) } };

    const encoder = encoderSpec(preset, { ...(values.width === undefined ? {} : { width: numOption('width', values.width, 1) }), ...(volumetric ? { dims: 3 as const } : {}), ...(cspr ? { inPlaneStrides: true } : {}) });
    const model: Model = createModel(
      slabs
        ? csprModelSpec(encoder, slabs.train.classes.length)
        : isProxy3d(config.method.kind)
          ? proxy3dModelSpec(config.method as Proxy3dConfig, encoder)
          : method === 'sorting'
            ? scoreModelSpec(encoder)
            : projectionModelSpec(encoder),
      { seed },
    );
    const trainable = asTrainable(model);
    mkdirSync(out, { recursive: true });
    const log = new TrainLog(join(out, 'train-log.jsonl'));
    const store = new FileCheckpointStore(out);
    const onEvent = (e: TrainEvent) => {
      log.append(e);
      if (e.type === 'step') {
        bar.update(e.step, e.steps, `loss ${e.loss.toFixed(4)}  ${e.slicesPerSecond.toFixed(1)} slices/s  ETA ${Math.ceil(e.etaSeconds)}s`);
      } else if (e.type === 'start') {
        reportResume(values.resume, e, [store], out);
        if (e.resumed && !quiet) process.stderr.write(`resuming at step ${e.fromStep} of ${e.steps}\n`);
      }
    };
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    let result;
    try {
      const data = slabs ? { task: csprTask(slabs.train, { samples: batch, window: config.window }) } : { volumes: trainVolumes };
      result = await train({ model: trainable, ...data, config, store, resume: values.resume, signal: controller.signal, onEvent });
    } finally {
      process.off('SIGINT', stop);
    }
    bar.done(`${result.status} at step ${result.step} in ${result.seconds.toFixed(1)} s`);
    const metrics: Record<string, number> = { finalLoss: result.losses.at(-1) ?? Number.NaN };
    if (method === 'sorting' && heldOut.length > 0) metrics.heldOutSpearman = (await evaluateSorting(trainable, heldOut, config.window)).spearman;
    if (isProxy3d(config.method.kind) && heldOut.length > 0) Object.assign(metrics, heldOutProxyAccuracy(config.method as Proxy3dConfig, trainable, heldOut, config.window, seed));
    if (slabs?.heldOut) {
      const a = csprAccuracy(trainable, slabs.heldOut, config.window, mulberry32(mixSeed(seed, 0xc5)), 128);
      Object.assign(metrics, { heldOutAccuracy: a.accuracy, chanceAccuracy: a.chance });
    }
    if (calibrate > 0 && result.status === 'finished') {
      try {
        const calibration = await calibrateOnPhantoms(trainable, calibrate, seed + 1, { plane, size, mmPerPixel, window: config.window }, quiet);
        Object.assign(metrics, calibrationToMetrics(calibration));
      } catch (e) {
        // A model that does not yet order other subjects cannot be calibrated: it states reference-only intervals.
        if (!(e instanceof LocalizeError)) throw e;
        process.stderr.write(`warning: localization not calibrated: ${e.message}\n`);
      }
    }
    const modelDir = join(out, 'model');
    const spacing = median((slabs ? slabs.train.volumes : volumes).map((v) => v.spacingMm));
    const manifest = await saveModelToDir(
      model,
      { method, inputSize: size, cropDepth: cspr ? CSPR_DEPTH : methodConfig.kind === 'task' ? undefined : cubeSideOf(methodConfig), plane, huWindow: { center, width }, mmPerPixel, intensity: DEFAULT_INTENSITY, sliceSpacingMm: spacing, steps: result.step, metrics },
      modelDir,
    );
    const summary = { out, model: modelDir, method, plane, backend: backend.label, status: result.status, steps: result.step, seconds: +result.seconds.toFixed(2), metrics, checksum: manifest.checksum };
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(`${result.status}: ${result.step}/${steps} steps across ${plane} slices on ${backend.label} in ${result.seconds.toFixed(1)} s\n`);
      for (const [k, v] of Object.entries(metrics)) process.stdout.write(`  ${k}: ${v.toFixed(4)}\n`);
      process.stdout.write(`model written to ${modelDir}\n`);
    }
    model.dispose();
    return result.status === 'finished' ? 0 : 130;
  },
};

/**
 * The localization calibration of a slice-score model: `n` phantom subjects of cohort `cohort`
 * (never trained on), scored, each the reference for stacks of the others ({@link calibrateLocalization});
 * positions compared in the phantoms' shared frame (÷ each subject's height).
 */
async function calibrateOnPhantoms(model: TrainableModel, n: number, cohort: number, prep: PrepareOptions & { window: { center: number; width: number } }, quiet: boolean) {
  const bar = progressBar('calibrate localization', !quiet);
  const scored: ScoredVolume[] = [];
  for (let k = 0; k < n; k++) {
    const s = phantomSubject(k, cohort, { size: prep.size });
    const prepared = prepareVolume(`${s.id}@${s.seed}`, s.volume, prep);
    const v = await scoreVolume(model, prepared, prep.window);
    scored.push({ positionsMm: v.positionsMm, scores: v.scores, spacingMm: prepared.spacingMm, scale: 1 / s.params.height });
    bar.update(k + 1, n);
  }
  const calibration = calibrateLocalization(scored);
  bar.done(`localization calibrated on ${n} subjects of cohort ${cohort}: subject sd ${calibration.subjectSdMm.toFixed(1)} mm, slice sd ${calibration.sliceSdMm.toFixed(1)} mm`);
  return calibration;
}

/** Options that a shard store already fixed may be given only with the store's values. */
function checkStoreOptions(values: { plane?: string | undefined; size?: string | undefined; 'mm-per-pixel'?: string | undefined; window?: string | undefined }, p: ShardParams, spec: string): void {
  const clash = (name: string, given: string | undefined, has: number | string) => {
    if (given !== undefined && (typeof has === 'number' ? Number(given) !== has : given !== has)) throw new UsageError(`--${name} ${given}: ${spec} was prepared with ${name} ${has}; drop the option or prepare another store`);
  };
  clash('plane', values.plane, p.plane);
  clash('size', values.size, p.size);
  clash('mm-per-pixel', values['mm-per-pixel'], p.mmPerPixel);
  if (values.window !== undefined && pairOption('window', values.window, [0, 0]).join(',') !== `${p.window.center},${p.window.width}`) clash('window', values.window, `${p.window.center},${p.window.width}`);
}

/** A 3D proxy task's settings from the options: `batch` samples per step, cubes that fit `size`² slices. */
function proxy3dOptions(
  kind: Proxy3dName,
  values: { cube?: string | undefined; patch?: string | undefined; jitter?: string | undefined; permutations?: string | undefined; 'context-rows'?: string | undefined },
  batch: number,
  size: number,
): Proxy3dConfig {
  const fits = (side: number, what: string) => {
    if (side > size) throw new UsageError(`${what} spans ${side} voxels, more than the ${size}² slices (--size): lower it or raise --size`);
    return side;
  };
  const patch = intOption('patch', values.patch, 8, 8);
  const grid = (cells: number) => {
    const g = { grid: cells, patch, jitter: intOption('jitter', values.jitter, kind === 'cpc3d' ? 0 : 2, 0) };
    fits(cells * (g.patch + g.jitter), `a ${cells}³ grid of ${g.patch}³ patches (jitter ${g.jitter})`);
    return g;
  };
  switch (kind) {
    case 'rotation3d':
    case 'exemplar3d': {
      const side = fits(intOption('cube', values.cube, Math.min(32, size), 8), `--cube ${values.cube ?? 32}`);
      return { kind, samples: batch, side };
    }
    case 'rpl3d':
      return { kind, samples: batch, grid: grid(3) };
    case 'jigsaw3d':
      return { kind, samples: batch, grid: grid(3), permutations: intOption('permutations', values.permutations, 100, 2) };
    case 'cpc3d': {
      if (batch < 2) throw new UsageError('--batch must be at least 2 for cpc3d (the other samples are its negatives)');
      const contextRows = intOption('context-rows', values['context-rows'], 2, 1);
      if (contextRows >= 4) throw new UsageError(`--context-rows ${contextRows}: the 4×4×4 grid leaves no row to predict (at most 3)`);
      return { kind, samples: batch, grid: grid(4), contextRows };
    }
  }
}

/** The 3D task done on held-out volumes (4 batches drawn with their own seed): accuracy and its chance level. */
function heldOutProxyAccuracy(m: Proxy3dConfig, model: TrainableModel, heldOut: readonly PreparedVolume[], window: { center: number; width: number }, seed: number): Record<string, number> {
  const runs = [0, 1, 2, 3].map((k) => proxy3dAccuracy(m, model, drawProxy3d(m, heldOut, window, mulberry32(mixSeed(seed, 0x3d, k)))));
  return { heldOutAccuracy: runs.reduce((s, r) => s + r.accuracy, 0) / runs.length, chanceAccuracy: runs[0]!.chance };
}
