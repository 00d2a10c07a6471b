import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MODEL_PLANES, createModel, encoderSpec, expectKind, scoreModelSpec, unetFromEncoder } from '@tomosort/models';
import type { EncoderPreset, Model } from '@tomosort/models';
import { saveModelToDir } from '@tomosort/models/node';
import { checkFinetuneSettings, defaultCropDepth, dicePerClass, estimateQuality, finetune, interpolationQuality, isSegmentError, predictVolume, prepareAnnotation, prepareVolumeAnnotation, unetFolds } from '@tomosort/segment';
import type { QualityEstimate } from '@tomosort/segment';
import { interpolateAnnotation } from '@tomosort/segment/node';
import { fitMmPerPixel } from '@tomosort/pretext';
import { DEFAULT_INTENSITY, describeIntensity, slicePlane } from '@tomosort/volume';
import type { SegmentClass } from '@tomosort/segment';
import { asTrainable } from '@tomosort/train';
import type { TrainEvent } from '@tomosort/train';
import { FileCheckpointStore } from '@tomosort/train/node';
import type { Command } from '../cli';
import { BACKEND_OPTIONS, BACKEND_USAGE, startBackend } from '../backendOption';
import { userPath } from '../env';
import { UsageError } from '../errors';
import { loadAnnotation } from '../annotationSource';
import { JSON_OPTION, PACS_OPTION, intListOption, intOption, numOption, oneOfOption, pairOption, parse } from '../parse';
import { connectPacs } from '../pacsConnection';
import { progressBar } from '../progress';
import { TrainLog, reportResume } from '../trainLog';
import { formatTable } from '../table';
import { loadSeriesSpec } from '../seriesSource';
import { loadModelFolder, modelPlane, warnLine } from '../modelFolder';

const USAGE = `usage: pnpm tomosort finetune --series S --out DIR [options]

  --series S        the annotated volume: a series UID in the PACS (or pacs:UID), a DICOM folder,
                    a NIfTI file, sample:cranium, sample:colin27[:better] or sample:phantom:N;
                    S#slices=A-B keeps slices A..B only (inclusive, along its slice axis)
  --labels L        sample (the sample's own labels; default for samples) | seg:UID (a DICOM SEG
                    in the PACS that references the series) | a NIfTI label map on the same grid
  --slices K,K,…    annotated slices (indices along the --plane stack: by default the series' own slice
                    axis); default: the SEG's slices
  --classes V[:name],…  label values to learn (default: every value on the annotated slices)
  --plane P         axial | coronal | sagittal: the slices to train across (default: the series' own
                    slice plane, where its slice indices and a SEG's frames are). Another plane
                    reorients the series (slices in its canonical order: axial feet → head, coronal
                    front → back, sagittal right → left) and needs a label map complete in 3D.
                    With --encoder, a plane other than the encoder's pre-training plane is refused
                    unless --plane names it (then a warning)
  --encoder DIR     a pre-trained model: its folder, or the --out folder of \`pretrain\`; its input
                    size, window and plane are used
  --model A         without --encoder: small | resnet18 (default) from random weights (a baseline)
  --size S          slice size (default: the encoder's, which is the only size it takes; else 128)
  --window C,W      HU window (default: the encoder's, else 40,400); MR and other non-CT series are
                    mapped onto it by their 0.5–99.5 percentiles
  --mm-per-pixel X  without --encoder: the in-plane physical scale (default: the series' larger
                    in-plane extent ÷ size); with --encoder, the encoder's
  --frozen-steps N  decoder-only warm-up steps with the encoder frozen (default 50)
  --steps N         then steps of the whole network (default 200)
  --batch N         slices per step (default 8; 3D: crops per step, default 2);  --lr X (default 0.001);  --seed S (default 0)
  --quality-folds F also estimate the quality by F-fold cross-validation over the annotated slices
                    (leave-one-out up to F slices; each fold trains again as this run does: the
                    viewer's estimate, for series whose labels are known only on those slices,
                    beside contour interpolation scored by the same folds; 2D models; default 0 = none)
  --depth D         a 3D encoder (pretrain --method rotation3d, …): slices per crop of its 3D U-Net (default: the
                    encoder's crop depth); the loss counts the annotated slices of each crop only
${BACKEND_USAGE}
  --resume          continue from DIR's checkpoints
  --json            print a JSON summary at the end (and no progress bar)

Writes DIR/model (a U-Net with its classes and plane in the manifest), DIR/frozen and DIR/full (checkpoints)
and DIR/train-log.jsonl. Where the labels are known beyond the annotated slices (a sample's or a
NIfTI file's complete label map, a SEG's other slices), the report gives the Dice there of the model
and of morphological contour interpolation of the same annotated slices (what OHIF offers), and says
which is better.`;

/** Dice of the model and of the interpolation on the slices held out from training. */
interface Evaluation {
  readonly slices: number;
  readonly model: Record<string, number>;
  readonly interpolation: Record<string, number>;
  readonly meanDice: { readonly model: number; readonly interpolation: number };
  /** The better of the two by mean Dice (a tie goes to interpolation: it needs no training). */
  readonly better: 'model' | 'interpolation';
}

const mean = (d: Record<string, number>): number => {
  const xs = Object.values(d);
  return xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
};

function evaluate(slices: readonly number[], dice: { model: Record<string, number>; interpolation: Record<string, number> }): Evaluation {
  const meanDice = { model: mean(dice.model), interpolation: mean(dice.interpolation) };
  return { slices: slices.length, ...dice, meanDice, better: meanDice.model > meanDice.interpolation ? 'model' : 'interpolation' };
}

function evaluationText(e: Evaluation): string {
  const rows = Object.keys(e.model).map((name) => [name, e.model[name]!.toFixed(4), e.interpolation[name]!.toFixed(4)]);
  rows.push(['mean', e.meanDice.model.toFixed(4), e.meanDice.interpolation.toFixed(4)]);
  const gap = Math.abs(e.meanDice.model - e.meanDice.interpolation).toFixed(4);
  const verdict =
    e.better === 'model'
      ? `the model beats contour interpolation of the same slices by ${gap} mean Dice`
      : `contour interpolation of the same slices beats the model by ${gap} mean Dice: use interpolation here, or annotate more slices`;
  const table = formatTable(['Dice', 'model', 'interpolation'], rows)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  return `  on ${e.slices} slices labelled in the source but not used for training:\n${table}\n  ${verdict}\n`;
}

/** "6:lungs,9" → classes; names default to the source's names, else "label V". */
function parseClasses(v: string, known: readonly SegmentClass[]): SegmentClass[] {
  return v.split(',').map((part) => {
    const [value, name] = part.split(':');
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 255) throw new UsageError(`--classes takes label values 1..255 (optionally value:name), got "${part}"`);
    return { value: n, name: name ?? known.find((c) => c.value === n)?.name ?? `label ${n}` };
  });
}

export const finetuneCommand: Command = {
  usage: USAGE,
  async run(args) {
    const { values } = parse(
      args,
      {
        series: { type: 'string' },
        labels: { type: 'string' },
        slices: { type: 'string' },
        classes: { type: 'string' },
        plane: { type: 'string' },
        encoder: { type: 'string' },
        model: { type: 'string' },
        size: { type: 'string' },
        window: { type: 'string' },
        'mm-per-pixel': { type: 'string' },
        'frozen-steps': { type: 'string' },
        steps: { type: 'string' },
        batch: { type: 'string' },
        depth: { type: 'string' },
        'quality-folds': { type: 'string' },
        lr: { type: 'string' },
        seed: { type: 'string' },
        ...BACKEND_OPTIONS,
        out: { type: 'string' },
        resume: { type: 'boolean', default: false },
        ...PACS_OPTION,
        ...JSON_OPTION,
      },
      USAGE,
      false,
    );
    if (!values.series) throw new UsageError(`--series is required\n\n${USAGE}`);
    if (!values.out) throw new UsageError(`--out DIR is required\n\n${USAGE}`);
    const out = userPath(values.out);
    const quiet = values.json || !process.stderr.isTTY;
    const seed = intOption('seed', values.seed, 0);
    const backend = await startBackend(values, quiet);
    const pacs = () => connectPacs(values.pacs);

    const requestedPlane = values.plane === undefined ? undefined : oneOfOption('plane', values.plane, MODEL_PLANES, 'axial');
    const encoderLoaded = values.encoder ? await loadModelFolder(values.encoder) : undefined;
    const size = intOption('size', values.size, encoderLoaded?.manifest.inputSize ?? 128, 8);
    if (encoderLoaded && size !== encoderLoaded.manifest.inputSize) {
      const n = encoderLoaded.manifest.inputSize;
      throw new UsageError(`--size ${size} differs from the input size of the encoder ${encoderLoaded.dir} (${n}): it learned its features on ${n}² slices of the whole field of view; leave --size out, or pre-train at ${size}`);
    }
    const [center, width] = pairOption('window', values.window, encoderLoaded ? [encoderLoaded.manifest.huWindow.center, encoderLoaded.manifest.huWindow.width] : [40, 400]);
    const window = { center, width };
    if (encoderLoaded && values['mm-per-pixel'] !== undefined) throw new UsageError('--mm-per-pixel: the encoder fixes the physical scale; leave it out with --encoder');

    const series = await loadSeriesSpec(values.series, { pacs, seed });
    const own = slicePlane(series.volume);
    const plane = requestedPlane ?? own;
    const encoderPlane = encoderLoaded && modelPlane(encoderLoaded.manifest, encoderLoaded.dir, warnLine);
    if (encoderLoaded && encoderPlane !== undefined && encoderPlane !== plane) {
      if (requestedPlane === undefined) {
        throw new UsageError(
          `${series.id} is stacked as ${own} slices but the encoder ${encoderLoaded.dir} was pre-trained on ${encoderPlane} slices: ` +
            `pass --plane ${encoderPlane} to fine-tune across ${encoderPlane} slices (--slices then index that stack; needs a label map complete in 3D), ` +
            `or --plane ${own} to fine-tune across the series' own slices anyway`,
        );
      }
      warnLine(`fine-tuning across ${plane} slices (--plane) with an encoder pre-trained on ${encoderPlane} slices: its features may not carry over`);
    }
    const annotation = await loadAnnotation(series, {
      labels: values.labels,
      slices: values.slices === undefined ? undefined : intListOption('slices', values.slices),
      pacs,
      plane,
    });
    const classes = values.classes ? parseClasses(values.classes, annotation.known) : annotation.present;
    if (classes.length === 0) throw new UsageError(`${series.id}: the annotated slices hold no labels; draw some or pass --classes`);

    const preset = oneOfOption('model', values.model, ['small', 'resnet18', 'resnet34', 'resnet50'] as const, 'resnet18') as EncoderPreset;
    /** The starting weights: the encoder's, or random ones of the preset (each quality fold starts here again). */
    const startingEncoder = async (): Promise<Model> => (values.encoder ? (await loadModelFolder(values.encoder)).model : createModel(scoreModelSpec(encoderSpec(preset)), { seed }));
    const source: Model = encoderLoaded ? encoderLoaded.model : await startingEncoder();
    const qualityFolds = intOption('quality-folds', values['quality-folds'], 0, 0);
    const volumetric = source.spec.encoder.dims === 3;
    if (volumetric && qualityFolds > 0) {
      source.dispose();
      throw new UsageError('--quality-folds is for 2D models: a 3D U-Net fine-tunes on crops of the whole volume');
    }
    if (!volumetric && values.depth !== undefined) {
      source.dispose();
      throw new UsageError('--depth is for 3D encoders (pretrain --method rotation3d, …); this encoder is 2D');
    }
    // A CSPR encoder (in-plane strides) was pre-trained 3 slices deep but takes any depth; the others their cube's.
    const inPlane = source.spec.encoder.inPlaneStrides === true;
    const depth = volumetric ? intOption('depth', values.depth, defaultCropDepth(source.spec.encoder, encoderLoaded?.manifest.cropDepth), inPlane ? 1 : 8) : undefined;
    const unet = unetFromEncoder(source, { classes: classes.length + 1, seed });
    source.dispose();
    const net = asTrainable(unet);
    const batch = intOption('batch', values.batch, volumetric ? 2 : 8, 1);
    const frozenSteps = intOption('frozen-steps', values['frozen-steps'], 50, 0);
    const steps = intOption('steps', values.steps, 200, 0);
    try {
      // The memory estimate is the 2D U-Net's; a 3D one's crops are checked by the task (depth ≤ the series' slices).
      if (!volumetric) checkFinetuneSettings({ size, batch, frozenSteps, steps, spec: unet.spec });
    } catch (e) {
      unet.dispose();
      throw isSegmentError(e) ? new UsageError(e.message) : e;
    }
    // An encoder made before the physical scale existed keeps its stretched input (no mmPerPixel).
    const mmPerPixel = encoderLoaded
      ? encoderLoaded.manifest.mmPerPixel
      : values['mm-per-pixel'] === undefined
        ? fitMmPerPixel(annotation.annotation.volume, undefined, size)
        : numOption('mm-per-pixel', values['mm-per-pixel'], 1);
    const intensity = encoderLoaded?.manifest.intensity ?? DEFAULT_INTENSITY;
    const input = { mmPerPixel, window, intensity };
    const data = [volumetric ? prepareVolumeAnnotation(annotation.annotation, size, classes, input) : prepareAnnotation(annotation.annotation, size, classes, input)];

    mkdirSync(out, { recursive: true });
    const log = new TrainLog(join(out, 'train-log.jsonl'));
    const bar = progressBar('finetune', !quiet);
    const stores = { frozen: new FileCheckpointStore(join(out, 'frozen')), full: new FileCheckpointStore(join(out, 'full')) };
    const onEvent = (phase: string, e: TrainEvent) => {
      log.append(e, phase);
      if (e.type === 'start') reportResume(values.resume, e, [phase === 'full' ? stores.full : stores.frozen], join(out, phase));
      if (e.type === 'step') bar.update(e.step, e.steps, `${phase}  loss ${e.loss.toFixed(4)}  ${e.slicesPerSecond.toFixed(1)} slices/s  ETA ${Math.ceil(e.etaSeconds)}s`);
    };
    const config = {
      window,
      batch,
      ...(depth === undefined ? {} : { depth }),
      frozenSteps,
      steps,
      learningRate: numOption('lr', values.lr, 1e-3),
      seed,
      checkpointEvery: 50,
    };
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    let result;
    try {
      result = await finetune({
        model: net,
        data,
        config,
        stores,
        resume: values.resume,
        signal: controller.signal,
        onEvent,
      });
    } finally {
      process.off('SIGINT', stop);
    }
    bar.done(`${result.status} after ${result.losses.length} steps in ${result.seconds.toFixed(1)} s`);
    let quality: (QualityEstimate & { interpolation?: QualityEstimate }) | undefined;
    if (qualityFolds >= 2 && result.status === 'finished') {
      const foldBar = progressBar('quality', !quiet);
      quality = await estimateQuality({
        data: data[0]!,
        classes,
        config: { ...config, checkpointEvery: 0 },
        folds: qualityFolds,
        signal: controller.signal,
        makeModel: unetFolds(startingEncoder, classes.length, seed),
        onFold: (f, n) => foldBar.update(f, n, `fold ${f + 1} of ${n}`),
      });
      // What OHIF's interpolation of the same folds gives (the panel shows both).
      const interpolation = quality && (await interpolationQuality({ annotation: annotation.annotation, classes, interpolate: interpolateAnnotation, folds: qualityFolds, signal: controller.signal }));
      if (quality && interpolation) quality = { ...quality, interpolation };
      foldBar.done(quality ? `quality estimate over ${quality.planes} slices in ${quality.folds} folds` : 'quality estimate cancelled');
    }

    const metrics: Record<string, number> = { finalLoss: result.losses.at(-1) ?? Number.NaN };
    let evaluation: Evaluation | undefined;
    if (annotation.evaluationSlices.length > 0) {
      const predicted = await predictVolume(net, annotation.annotation.volume, { size, ...input, classes, ...(depth === undefined ? {} : { depth }) });
      const interpolated = await interpolateAnnotation(annotation.annotation, classes);
      evaluation = evaluate(annotation.evaluationSlices, {
        model: dicePerClass(predicted, annotation.annotation.labels, classes, annotation.evaluationSlices),
        interpolation: dicePerClass(interpolated, annotation.annotation.labels, classes, annotation.evaluationSlices),
      });
      for (const [name, d] of Object.entries(evaluation.model)) metrics[`dice/${name}`] = d;
      metrics.meanDice = evaluation.meanDice.model;
      for (const [name, d] of Object.entries(evaluation.interpolation)) metrics[`interpolationDice/${name}`] = d;
      metrics.interpolationMeanDice = evaluation.meanDice.interpolation;
    }
    const modelDir = join(out, 'model');
    const manifest = await saveModelToDir(
      expectKind(unet, 'unet'),
      { method: encoderLoaded ? 'finetune' : 'scratch', inputSize: size, cropDepth: depth, plane, huWindow: window, mmPerPixel, intensity, sliceSpacingMm: annotation.annotation.volume.spacing[2], steps: result.losses.length, metrics, classes },
      modelDir,
    );
    unet.dispose();
    const summary = { out, model: modelDir, plane, ...(quality ? { quality } : {}), intensity: describeIntensity(annotation.annotation.volume, window, intensity), backend: backend.label, status: result.status, steps: result.losses.length, seconds: +result.seconds.toFixed(2), classes, slices: annotation.annotation.slices, metrics, ...(evaluation ? { evaluation } : {}), checksum: manifest.checksum };
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(`${result.status}: ${result.losses.length} steps on ${backend.label} in ${result.seconds.toFixed(1)} s (${annotation.annotation.slices.length} annotated ${plane} slices, ${classes.map((c) => c.name).join(', ')})\n`);
      process.stdout.write(`  intensities: ${describeIntensity(annotation.annotation.volume, window, intensity)}\n`);
      process.stdout.write(`  final loss: ${metrics.finalLoss!.toFixed(4)}\n`);
      const folds = (q: QualityEstimate) => q.perClass.map((c) => `${c.name} ${c.mean.toFixed(3)} (${c.min.toFixed(3)}–${c.max.toFixed(3)})`).join(', ');
      if (quality) process.stdout.write(`  quality estimate (${quality.folds}-fold cross-validation over the ${quality.planes} annotated slices, Dice at ${size}²): ${folds(quality)}\n`);
      if (quality?.interpolation) process.stdout.write(`  contour interpolation, the same folds (full resolution): ${folds(quality.interpolation)}\n`);
      if (evaluation) process.stdout.write(evaluationText(evaluation));
      process.stdout.write(`model written to ${modelDir}\n`);
    }
    return result.status === 'finished' ? 0 : 130;
  },
};
