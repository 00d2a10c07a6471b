import type { ActiveSeries } from './ohif';
import type { QualityEstimate } from '@tomosort/segment';
import type { OrderFindingMessage, QualityMessage, TrainingCompute } from './worker/protocol';

// What the panel says, in words: pure functions of the worker's messages and the viewport.

/** Per-class Dice over folds: "head 0.93 (0.90–0.95)". */
const foldDice = (q: QualityEstimate): string => q.perClass.map((c) => `${c.name} ${c.mean.toFixed(2)}${q.folds > 1 ? ` (${c.min.toFixed(2)}–${c.max.toFixed(2)})` : ''}`).join(', ');
const meanDice = (q: QualityEstimate): number => q.perClass.reduce((a, c) => a + c.mean, 0) / Math.max(1, q.perClass.length);

/** The quality estimate in words, with what it measured and what it cost, and how OHIF's interpolation of the same folds compares. */
export function describeQuality(q: QualityMessage, size: number, seconds: number): string {
  if (q.kind === 'skipped') {
    const why: Record<typeof q.reason, string> = {
      off: 'No quality estimate (folds set to 0).',
      'one-plane': 'No quality estimate: it needs at least 2 annotated planes (one to train on, one to check).',
      cancelled: 'No quality estimate: cancelled.',
      '3d': 'No quality estimate: it is made for 2D models so far (a 3D U-Net trains on crops through the whole volume).',
    };
    return why[q.reason];
  }
  const how = q.folds === q.planes ? `leave-one-out over the ${q.planes} annotated planes` : `${q.folds}-fold cross-validation over the ${q.planes} annotated planes`;
  const model = `Quality estimate, Dice on held-out annotated planes (${how}, at the model's ${size}² input; ${seconds.toFixed(1)} s): ${foldDice(q)}.`;
  const i = q.interpolation;
  if (i.kind === 'skipped') return `${model} ${i.reason === 'few-slices' ? 'No comparison with contour interpolation: it runs along the acquisition, and needs at least 2 annotated acquired slices.' : ''}`.trim();
  const same = i.planes === q.planes ? 'the same folds' : `the ${i.planes} acquired slices alone`;
  const gap = meanDice(q) - meanDice(i);
  const verdict =
    gap > 0
      ? `The model is ahead by ${gap.toFixed(2)} mean Dice.`
      : `Interpolation is ahead by ${(-gap).toFixed(2)} mean Dice: OHIF's own interpolation does as well here, or annotate more slices.`;
  return `${model} Contour interpolation (OHIF's) of ${same}, at full resolution, filling only between annotated slices: ${foldDice(i)}. ${verdict}`;
}

/**
 * What the fine-tuning's steps cost here, for the reader who wants to know whether the GPU is
 * used: "Compute: webgpu (NVIDIA …), 120 ms a full step (4.2 GFLOP/s); 395 GPU dispatches and
 * 0.25 readbacks a step, peak GPU memory 22 MB."
 */
export function describeCompute(c: TrainingCompute): string {
  const speed = c.msPerStep === null ? 'no full step ran' : `${c.msPerStep.toFixed(0)} ms a full step (${(c.gflopPerStep / (c.msPerStep / 1000)).toPrecision(3)} GFLOP/s)`;
  const gpu = c.webgpu
    ? `; ${c.webgpu.dispatchesPerStep.toFixed(0)} GPU dispatches and ${c.webgpu.readbacksPerStep.toFixed(2)} readbacks a step, peak GPU memory ${(c.webgpu.peakGpuBytes / 1e6).toFixed(0)} MB`
    : '';
  return `Compute: ${c.backend}, ${speed}${gpu}.`;
}

/** The order check in words. */
export function describeOrder(order: readonly OrderFindingMessage[]): string {
  if (order.length === 0) return 'the slice order looks right.';
  return order
    .map((f) =>
      f.kind === 'reversed'
        ? `REVERSED: the slices run against the order their positions claim.`
        : f.kind === 'shuffled'
          ? f.extent === 'series'
            ? `SHUFFLED: ρ = ${f.rho.toFixed(2)}, far below the ${f.expectedRho.toFixed(2)} this model gives intact series.`
            : `slices ${f.slices.map((k) => k + 1).join(', ')} look out of place.`
          : f.kind === 'missing'
            ? `about ${f.estimated} slice(s) missing after slice ${f.after + 1}.`
            : f.reason === 'unreliable-model'
              ? `not judged: this model does not order even intact series.`
              : f.reason === 'few-slices'
                ? `not judged: too few non-blank slices.`
                : `not judged: the scores do not order this series, and the model's reliability does not allow calling it shuffled.`,
    )
    .join(' ');
}

/** The plane on screen in words: "slice 41 of 108" (acquisition), "axial plane 129 of 256 (reformat)", or why there is none. */
export function onScreenWords(series: ActiveSeries): string {
  const p = series.plane;
  if (!p) return 'no plane aligned with the series on screen (an oblique view, or still loading): annotate in the acquisition, axial, coronal or sagittal orientation';
  return p.axis === 2 ? `slice ${p.index + 1} of ${p.count}` : `${series.planeNames[p.axis]} plane ${p.index + 1} of ${p.count} (reformat)`;
}
