import type * as tf from '@tensorflow/tfjs-core';
import { checkSliceOrder, fitScoreMap, localizeStack, scoreVolume } from '@tomosort/localize';
import type { OrderFinding, StackLocation } from '@tomosort/localize';
import { spearman } from '@tomosort/losses';
import { MODEL_PLANES, expectKind } from '@tomosort/models';
import type { ModelManifest, ModelPlane } from '@tomosort/models';
import { prepareVolume } from '@tomosort/pretext';
import type { Command } from '../cli';
import { BACKEND_OPTIONS, BACKEND_USAGE, startBackend } from '../backendOption';
import { CliError, UsageError } from '../errors';
import { loadModelFolder, modelPlane, warnLine } from '../modelFolder';
import { JSON_OPTION, PACS_OPTION, oneOfOption, parse } from '../parse';
import { connectPacs } from '../pacsConnection';
import type { LoadedSeries } from '../seriesSource';
import { loadSeriesSpec } from '../seriesSource';

const USAGE = `usage: pnpm tomosort localize --model DIR --series S [--reference R] [options]

  --model DIR      a model with a slice-score head (from \`pretrain --method sorting\`): its folder or
                   the pretrain --out folder
  --series S       the series to check or place: a PACS series UID (or pacs:UID), a DICOM
                   folder, a NIfTI file, sample:phantom:N or sample:cranium
  --reference R    place --series inside this volume (same forms as --series)
  --plane P        axial | coronal | sagittal: the slices to score (default: the plane the model was
                   pre-trained on, from its manifest; another plane is scored with a warning)
  --seed N         phantom cohort seed for sample:phantom:N (default 0)
${BACKEND_USAGE}
  --json           print {"series","plane","modelPlane","slices","firstMm","rho","order":[…],"location"?:{"startMm",
                   "centreMm","sdMm","extrapolated","reference","referenceRho","sameFrame"}}

Scores every slice of --series across the plane (the series is reoriented to it, whatever its own
slice axis) with the model. Without --reference it checks the slice
order the series' geometry claims against the scores (reversed, shuffled, missing slices).
With --reference it fits a monotone score→position map on the reference and reports where the
series' first slice lies in the reference's frame (mm, with an uncertainty).`;

/** What one series' scores say, as printed by --json. */
export interface LocalizeSummary {
  readonly series: string;
  /** The plane the slices were scored across. */
  readonly plane: ModelPlane;
  /** The plane the model was pre-trained on (axial for a model saved before planes were recorded). */
  readonly modelPlane: ModelPlane;
  readonly slices: number;
  /** The series' own position of its first slice across `plane` (lowest along the plane normal), mm in its own frame. */
  readonly firstMm: number;
  /** Spearman ρ between score and the slices' own positions (1 or −1: scores follow the geometry). */
  readonly rho: number;
  readonly order: readonly OrderFinding[];
  readonly location?: StackLocation & {
    readonly reference: string;
    readonly referenceRho: number;
    /** Series and reference share a frame (same DICOM frame of reference, or the same input): compare startMm with firstMm. */
    readonly sameFrame: boolean;
  };
}

async function scored(series: LoadedSeries, manifest: ModelManifest, plane: ModelPlane, apply: Parameters<typeof scoreVolume>[0]) {
  const prepared = prepareVolume(series.id, series.volume, { plane, size: manifest.inputSize });
  const { positionsMm, scores } = await scoreVolume(apply, prepared, manifest.huWindow);
  return { prepared, positionsMm, scores };
}

/** Frame of reference UID of a DICOM series (undefined for samples and NIfTI). */
const frameOf = (s: LoadedSeries): string | undefined => s.dicom?.series.frameOfReferenceUID;

export const localizeCommand: Command = {
  summary: 'check a series’ slice order, or place it inside a reference volume, from slice scores',
  usage: USAGE,
  async run(args) {
    const { values } = parse(
      args,
      { model: { type: 'string' }, series: { type: 'string' }, reference: { type: 'string' }, plane: { type: 'string' }, seed: { type: 'string' }, ...BACKEND_OPTIONS, ...PACS_OPTION, ...JSON_OPTION },
      USAGE,
      false,
    );
    if (!values.model || !values.series) throw new UsageError(`--model and --series are required\n\n${USAGE}`);
    const seed = values.seed === undefined ? 0 : Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be an integer ≥ 0, got ${values.seed}`);
    const requested = values.plane === undefined ? undefined : oneOfOption('plane', values.plane, MODEL_PLANES, 'axial');
    const quiet = values.json || !process.stderr.isTTY;
    await startBackend(values, quiet);
    const { model, manifest, dir } = await loadModelFolder(values.model);
    if (model.spec.kind !== 'score') {
      throw new CliError(`${values.model} is a ${model.spec.kind} model (${manifest.method}); localize needs a model with a slice-score head (pnpm tomosort pretrain --method sorting)`);
    }
    // A score model always has a plane (recorded, or axial for one saved before planes were).
    const learned = modelPlane(manifest, dir, warnLine) ?? 'axial';
    const plane = requested ?? learned;
    if (plane !== learned) warnLine(`scoring ${plane} slices (--plane) with a model pre-trained on ${learned} slices: its scores need not follow position across ${plane} slices`);
    const net = expectKind(model, 'score');
    const apply = { apply: (x: tf.Tensor4D, training: boolean) => net.apply(x, { training }) };
    const pacs = () => connectPacs(values.pacs);
    const series = await loadSeriesSpec(values.series, { pacs, seed });
    const target = await scored(series, manifest, plane, apply);
    const summary: {
      series: string;
      plane: ModelPlane;
      modelPlane: ModelPlane;
      slices: number;
      firstMm: number;
      rho: number;
      order: OrderFinding[];
      location?: LocalizeSummary['location'];
    } = {
      series: series.id,
      plane,
      modelPlane: learned,
      slices: target.prepared.slices,
      firstMm: target.prepared.firstMm,
      rho: spearman(target.scores, target.positionsMm),
      order: checkSliceOrder(target.positionsMm, target.scores),
    };
    if (values.reference) {
      const reference = await loadSeriesSpec(values.reference, { pacs, seed });
      const ref = await scored(reference, manifest, plane, apply);
      const map = fitScoreMap(ref.positionsMm, ref.scores);
      // The stack's scores in rising position order, as localizeStack expects.
      const place = localizeStack(map, target.scores, target.prepared.spacingMm);
      const sameFrame = values.reference === values.series || (frameOf(series) !== undefined && frameOf(series) === frameOf(reference));
      summary.location = {
        ...place,
        reference: reference.id,
        referenceRho: map.rho,
        sameFrame,
      };
    }
    net.dispose();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return 0;
    }
    const across = plane === learned ? `${plane} slices` : `${plane} slices (model pre-trained on ${learned})`;
    const out: string[] = [`${summary.series}: ${summary.slices} ${across}, score vs position Spearman ρ = ${summary.rho.toFixed(3)}`];
    if (summary.order.length === 0) out.push('slice order: consistent with the scores');
    for (const f of summary.order) {
      if (f.kind === 'reversed') out.push(`slice order: REVERSED (ρ = ${f.rho.toFixed(2)}): the slices run against the order their positions claim`);
      if (f.kind === 'shuffled') out.push(`slice order: slices ${f.slices.join(', ')} look out of place`);
      if (f.kind === 'missing') out.push(`slice order: about ${f.estimated} slice(s) missing after slice ${f.after}`);
      if (f.kind === 'inconclusive') out.push(`slice order: not judged: the model's scores follow this series too loosely (ρ = ${f.rho.toFixed(2)}; needs |ρ| ≥ 0.8)`);
    }
    const loc = summary.location;
    if (loc) {
      out.push(
        `in ${loc.reference} (reference ρ = ${loc.referenceRho.toFixed(3)}): first slice at ${loc.startMm.toFixed(1)} mm, ` +
          `centre at ${loc.centreMm.toFixed(1)} mm, ± ${loc.sdMm.toFixed(1)} mm${loc.extrapolated ? ' (beyond the reference: extrapolated)' : ''}`,
      );
      if (loc.sameFrame) out.push(`the series' own geometry says ${summary.firstMm.toFixed(1)} mm (same frame of reference)`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  },
};
