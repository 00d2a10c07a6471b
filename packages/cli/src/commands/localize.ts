import type * as tf from '@tensorflow/tfjs-core';
import { calibrationFromMetrics, checkSliceOrder, fitScoreMap, localizeStack, scoreVolume } from '@tomosort/localize';
import type { OrderFinding, StackLocation } from '@tomosort/localize';
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
                   folder, a NIfTI file, sample:phantom:N, sample:cranium, sample:colin27 or
                   sample:colin27:better; S#slices=A-B keeps slices A..B only (inclusive,
                   along the volume's own slice axis) as a series in S's frame
  --reference R    place --series inside this volume (same forms as --series)
  --plane P        axial | coronal | sagittal: the slices to score (default: the plane the model was
                   pre-trained on, from its manifest; another plane is scored with a warning)
  --seed N         phantom cohort seed for sample:phantom:N (default 0)
  --expected-rho R the model's Spearman ρ on intact volumes like this one, for the order check
                   (default: the model manifest's metrics.heldOutSpearman, when it has one)
${BACKEND_USAGE}
  --json           print {"series","plane","modelPlane","slices","firstMm","rho","judged","blankSlices":[…],
                   "expectedRho","order":[…],"location"?:{"startMm","centreMm","sdMm",
                   "within50Mm","within90Mm","uncertainty","extrapolated","reference",
                   "referenceRho","sameFrame"}}

Scores every slice of --series across the plane (the series is reoriented to it, whatever its own
slice axis) with the model. Without --reference it checks the slice order the series' geometry
claims against the scores (reversed, shuffled, missing slices), leaving blank slices (air,
padding) out; without an expected ρ a series the scores do not order is "not judged" rather
than "shuffled".
With --reference it fits a monotone score→position map on the reference and reports where the
series' first slice lies in the reference's frame (mm), with 50 % and 90 % intervals: calibrated
on held-out subjects when the model's manifest holds a localization calibration (metrics
localizeSubjectSdMm, …), otherwise the reference's own spread ("reference-only"), which does not
cover another subject's offset. When both share a frame (the same DICOM frame of reference, the
same sample or file, sample:colin27 and sample:colin27:better, or a #slices= cut and its source)
it also prints where that slice truly lies.`;

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
  /** Spearman ρ between score and the slices' own positions over the non-blank slices (1: scores follow the geometry). */
  readonly rho: number;
  /** Slices the order check judged (all but the blank ones). */
  readonly judged: number;
  /** Blank slices (air, padding) left out of the order check. */
  readonly blankSlices: readonly number[];
  /** The model's ρ on intact volumes the order check used (--expected-rho or the manifest), null if none. */
  readonly expectedRho: number | null;
  readonly order: readonly OrderFinding[];
  readonly location?: StackLocation & {
    readonly reference: string;
    readonly referenceRho: number;
    /** Series and reference share a frame (`LoadedSeries.frame`: same DICOM frame of reference, sample or file; a #slices= cut keeps its source's): compare startMm with firstMm. */
    readonly sameFrame: boolean;
  };
}

async function scored(series: LoadedSeries, manifest: ModelManifest, plane: ModelPlane, apply: Parameters<typeof scoreVolume>[0]) {
  const prepared = prepareVolume(series.id, series.volume, { plane, size: manifest.inputSize, mmPerPixel: manifest.mmPerPixel, window: manifest.huWindow, intensity: manifest.intensity });
  const { positionsMm, scores, blank } = await scoreVolume(apply, prepared, manifest.huWindow);
  return { prepared, positionsMm, scores, blank };
}

/** One order-check finding in words (slice indices as in --json: 0 = the lowest slice). */
export function describeFinding(f: OrderFinding): string {
  switch (f.kind) {
    case 'reversed':
      return `REVERSED (ρ = ${f.rho.toFixed(2)}): the slices run against the order their positions claim`;
    case 'shuffled':
      return f.extent === 'series'
        ? `SHUFFLED: ρ = ${f.rho.toFixed(2)}, far below the ${f.expectedRho.toFixed(2)} this model gives intact volumes`
        : `slices ${f.slices.join(', ')} look out of place`;
    case 'missing':
      return `about ${f.estimated} slice(s) missing after slice ${f.after}`;
    case 'inconclusive':
      return f.reason === 'few-slices'
        ? 'not judged: too few non-blank slices'
        : f.reason === 'unreliable-model'
          ? `not judged: this model does not order even intact volumes (expected ρ ${f.expectedRho?.toFixed(2)})`
          : `not judged: the scores do not order this series (ρ = ${f.rho.toFixed(2)}), and ${f.expectedRho === null ? "the model's ρ on intact volumes is unknown (--expected-rho)" : `that is not far enough below the model's ${f.expectedRho.toFixed(2)} to call it shuffled`}`;
  }
}


export const localizeCommand: Command = {
  usage: USAGE,
  async run(args) {
    const { values } = parse(
      args,
      { model: { type: 'string' }, series: { type: 'string' }, reference: { type: 'string' }, plane: { type: 'string' }, seed: { type: 'string' }, 'expected-rho': { type: 'string' }, ...BACKEND_OPTIONS, ...PACS_OPTION, ...JSON_OPTION },
      USAGE,
      false,
    );
    if (!values.model || !values.series) throw new UsageError(`--model and --series are required\n\n${USAGE}`);
    const seed = values.seed === undefined ? 0 : Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be an integer ≥ 0, got ${values.seed}`);
    const givenRho = values['expected-rho'] === undefined ? undefined : Number(values['expected-rho']);
    if (givenRho !== undefined && !(givenRho >= -1 && givenRho <= 1)) throw new UsageError(`--expected-rho must be a number in [−1, 1], got ${values['expected-rho']}`);
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
    const expectedRho = givenRho ?? manifest.metrics.heldOutSpearman;
    const check = checkSliceOrder(target.positionsMm, target.scores, { blank: target.blank, ...(expectedRho === undefined ? {} : { expectedRho }) });
    const summary: { -readonly [K in keyof LocalizeSummary]: LocalizeSummary[K] } = {
      series: series.id,
      plane,
      modelPlane: learned,
      slices: target.prepared.slices,
      firstMm: target.prepared.firstMm,
      rho: check.rho,
      judged: check.judged,
      blankSlices: check.excluded,
      expectedRho: expectedRho ?? null,
      order: check.findings,
    };
    if (values.reference) {
      const reference = await loadSeriesSpec(values.reference, { pacs, seed });
      const ref = await scored(reference, manifest, plane, apply);
      const map = fitScoreMap(ref.positionsMm, ref.scores);
      // The stack's scores in rising position order, as localizeStack expects.
      const place = localizeStack(map, target.scores, target.prepared.spacingMm, calibrationFromMetrics(manifest.metrics));
      const sameFrame = values.reference === values.series || (series.frame !== undefined && series.frame === reference.frame);
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
    const blanks = summary.blankSlices.length;
    const across = plane === learned ? `${plane} slices` : `${plane} slices (model pre-trained on ${learned})`;
    const out: string[] = [
      `${summary.series}: ${summary.slices} ${across}${blanks > 0 ? ` (${blanks} blank, left out of the order check: ${summary.blankSlices.join(', ')})` : ''}, ` +
        `score vs position Spearman ρ = ${summary.rho.toFixed(3)}`,
    ];
    if (summary.order.length === 0) out.push('slice order: consistent with the scores');
    for (const f of summary.order) out.push(`slice order: ${describeFinding(f)}`);
    const loc = summary.location;
    if (loc) {
      out.push(
        `in ${loc.reference} (reference ρ = ${loc.referenceRho.toFixed(3)}): first slice at ${loc.startMm.toFixed(1)} mm, ` +
          `centre at ${loc.centreMm.toFixed(1)} mm, 50 % within ± ${loc.within50Mm.toFixed(1)} mm, 90 % within ± ${loc.within90Mm.toFixed(1)} mm` +
          `${loc.uncertainty === 'reference-only' ? " (reference-only: the model has no localization calibration; another subject's offset is not covered)" : ' (calibrated on held-out subjects)'}` +
          `${loc.extrapolated ? ' (beyond the reference: extrapolated)' : ''}`,
      );
      if (loc.sameFrame) out.push(`the series' own geometry says ${summary.firstMm.toFixed(1)} mm (same frame of reference)`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  },
};
