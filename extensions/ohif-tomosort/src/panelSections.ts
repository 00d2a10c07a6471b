import { createElement as h, useState } from 'react';
import type { ReactElement } from 'react';
import type { SavedAnnotation } from './annotationStore';
import { CONTROL_STYLE, button, item, list, numberInput } from './controls';
import type { JobSection, Scored, Training } from './jobState';
import { describeCounts } from './labels';
import { LossChart } from './lossChart';
import type { ModelChoice } from './modelChoices';
import { describeModel } from './ohif';
import { planeKey } from './planes';
import type { PlaneRef } from './planes';
import { describeCompute, describeOrder } from './panelWords';
import type { Compute, JobClass, SegSummary, SliceLabels, SliceMatch, TrainingCompute } from './worker/protocol';

// The panel's sections, one component each: what they show comes in as props, what they do goes
// out through callbacks (the panel's actions). Each shows the progress of a job it started.

export type Annotated = PlaneRef & { key: string; voxels: number; counts: number[]; done: boolean; sopInstanceUID?: string };
export type Predicted = SliceLabels & { index: number; voxels: number };

/** A plane's suffix in test ids: the stack index for an acquired slice (as before reformats), else its key. */
const planeTestId = (p: PlaneRef): string => (p.axis === 2 ? String(p.index) : planeKey(p).replace(':', '-'));

/** A running job's progress, loss chart and Cancel, and the last job's outcome: shown in the section that started it. */
export function JobProgress({ training, onCancel }: { training: Training; onCancel: () => void }): ReactElement | null {
  if (training.state === 'idle') return null;
  return h(
    'div',
    { style: { marginTop: '4px' } },
    training.state === 'running'
      ? h(
          'div',
          { 'data-testid': 'tomosort-progress' },
          `${training.message}${training.steps ? `: step ${training.step}/${training.steps}, loss ${training.loss.toFixed(3)}, ${training.stepsPerSecond.toFixed(2)} steps/s, ETA ${Math.ceil(training.eta)} s` : ''}`,
          training.steps ? h('progress', { max: training.steps, value: training.step, style: { width: '100%' } }) : null,
          button('Cancel', 'tomosort-cancel', onCancel),
        )
      : null,
    h(LossChart, { losses: training.losses }),
    training.state === 'done' ? h('div', { 'data-testid': 'tomosort-done' }, training.message) : null,
  );
}

export interface JobView {
  readonly training: Training;
  readonly section: JobSection | undefined;
  readonly onCancel: () => void;
}

/** The job's progress where `here` started it. */
const progressIn = (here: JobSection, job: JobView): ReactElement | null => (job.section === here ? h(JobProgress, { training: job.training, onCancel: job.onCancel }) : null);

export function LabelsSection(p: { classes: readonly JobClass[]; activeClass: number; busy: boolean; onActive: (value: number) => void; onAdd: (name: string) => void }): ReactElement {
  const [name, setName] = useState('');
  return h(
    'div',
    { 'data-testid': 'tomosort-labels' },
    h(
      'div',
      null,
      'Label to draw: ',
      h(
        'select',
        { 'data-testid': 'tomosort-active-label', value: p.activeClass, style: CONTROL_STYLE, onChange: (e: { target: { value: string } }) => p.onActive(Number(e.target.value)) },
        ...p.classes.map((c) => h('option', { key: c.value, value: c.value }, `${c.value}: ${c.name}`)),
      ),
    ),
    h(
      'div',
      null,
      h('input', { 'data-testid': 'tomosort-new-label', placeholder: 'new label name', value: name, style: { ...CONTROL_STYLE, width: '120px' }, onChange: (e: { target: { value: string } }) => setName(e.target.value) }),
      button('Add label', 'tomosort-add-label', () => (p.onAdd(name), setName('')), p.busy),
    ),
  );
}

/** Before a segmentation exists: start one, restore the one kept in this browser, or continue from a SEG of the PACS. */
export function StartSection(p: { saved: SavedAnnotation | undefined; storedSegs: readonly SegSummary[] | undefined; busy: boolean; job: JobView; onNew: () => void; onRestore: (a: SavedAnnotation) => void; onListSegs: () => void; onLoadSeg: (segSeriesInstanceUID: string) => void }): ReactElement {
  const saved = p.saved;
  return h(
    'div',
    null,
    button('New sparse segmentation', 'tomosort-new-seg', p.onNew),
    saved && (saved.slices.length > 0 || (saved.doneReformats?.length ?? 0) > 0)
      ? button(`Restore the annotation kept in this browser (${saved.planes?.length ?? saved.slices.length} slice(s), ${saved.classes.map((c) => c.name).join(', ')})`, 'tomosort-restore', () => p.onRestore(saved))
      : null,
    button('Continue from a SEG in the PACS…', 'tomosort-list-segs', p.onListSegs, p.busy),
    p.storedSegs && p.storedSegs.length > 0
      ? list(
          { 'data-testid': 'tomosort-stored-segs' },
          ...p.storedSegs.map((x) => item(x.seriesInstanceUID, {}, `${x.description}: ${x.segments.join(', ') || 'no segment'}, ${x.slices} slice(s)`, button('load', `tomosort-load-seg-${x.seriesInstanceUID}`, () => p.onLoadSeg(x.seriesInstanceUID), p.busy))),
        )
      : null,
    progressIn('annotation', p.job),
  );
}

export function AnnotationSection(p: {
  modality: string;
  range: readonly [number, number];
  onRange: (range: [number, number]) => void;
  /** The plane on screen (undefined: oblique or not ready) and whether it is marked done. */
  onScreen: PlaneRef | undefined;
  doneOnScreen: boolean;
  activeName: string;
  classes: readonly JobClass[];
  annotated: readonly Annotated[];
  describe: (p: PlaneRef) => string;
  onThreshold: () => void;
  onMarkDone: () => void;
  onGo: (a: Annotated) => void;
  onRemove: (a: Annotated) => void;
  /** A SEG loaded from the start section ends here, once it is the annotation. */
  job: JobView;
}): ReactElement {
  const what = p.onScreen?.axis === 2 || !p.onScreen ? 'slice' : 'plane';
  const perLabel = p.classes.map((c, i) => `${c.name}: ${p.annotated.filter((a) => a.counts[i]! > 0).length}`).join(', ');
  return h(
    'div',
    null,
    h('div', null, `Threshold the plane on screen (${p.modality === 'CT' ? 'HU' : `${p.modality} values as stored`}): `, numberInput(p.range[0], (v) => p.onRange([v, p.range[1]]), 'tomosort-lo'), ' to ', numberInput(p.range[1], (v) => p.onRange([p.range[0], v]), 'tomosort-hi')),
    button(`Label this ${what} as ${p.activeName}`, 'tomosort-threshold', p.onThreshold),
    button(p.doneOnScreen ? `Unmark this ${what}` : `Mark this ${what} done`, 'tomosort-mark-done', p.onMarkDone),
    h('div', { 'data-testid': 'tomosort-annotated' }, `${p.annotated.length} annotated slice(s)`),
    h('div', { 'data-testid': 'tomosort-per-label', style: { opacity: 0.85 } }, `Slices per label: ${perLabel}`),
    list(
      {},
      ...p.annotated.map((a) =>
        item(
          a.key,
          { 'data-testid': `tomosort-annotated-${planeTestId(a)}`, ...(a.sopInstanceUID ? { 'data-sop': a.sopInstanceUID } : {}) },
          `${a.done ? '✓ ' : ''}${p.describe(a)} (${describeCounts(a.counts, p.classes)})`,
          button('go', `tomosort-go-${planeTestId(a)}`, () => p.onGo(a)),
          button('remove', `tomosort-remove-${planeTestId(a)}`, () => p.onRemove(a)),
        ),
      ),
    ),
    progressIn('annotation', p.job),
  );
}

export function ModelSection(p: {
  choiceId: string;
  choices: readonly ModelChoice[];
  choice: ModelChoice | undefined;
  listError: string | undefined;
  size: number;
  onSize: (v: number) => void;
  pretrainSteps: number;
  onPretrainSteps: (v: number) => void;
  pretrainSize: number;
  onPretrainSize: (v: number) => void;
  busy: boolean;
  job: JobView;
  onChoose: (id: string) => void;
  onFiles: (files: File[]) => void;
  onPretrain: () => void;
}): ReactElement {
  const origin = (c: ModelChoice) => (c.origin === 'store' ? 'store' : c.origin === 'browser' ? 'this browser' : 'file');
  return h(
    'div',
    { 'data-testid': 'tomosort-model-choice' },
    h(
      'div',
      null,
      'Start from: ',
      h(
        'select',
        { 'data-testid': 'tomosort-model', value: p.choiceId, style: { ...CONTROL_STYLE, width: '100%' }, onChange: (e: { target: { value: string } }) => p.onChoose(e.target.value) },
        h('option', { value: '' }, 'random weights (no pre-training)'),
        ...p.choices.map((c) => h('option', { key: c.id, value: c.id }, `${origin(c)}: ${describeModel(c.model)}`)),
      ),
    ),
    p.choice ? h('div', { 'data-testid': 'tomosort-manifest', style: { opacity: 0.85 } }, `Manifest: ${describeModel(p.choice.model)}`) : h('div', null, 'Input size (pixels): ', numberInput(p.size, p.onSize, 'tomosort-size')),
    h(
      'div',
      null,
      'Or a model from disk (model.json + weights.bin): ',
      h('input', { type: 'file', multiple: true, accept: '.json,.bin', 'data-testid': 'tomosort-model-files', onChange: (e: { target: { files: FileList | null } }) => p.onFiles(Array.from(e.target.files ?? [])) }),
    ),
    h(
      'div',
      null,
      'No model yet? Pre-train on this series (SortingLoss): ',
      numberInput(p.pretrainSteps, p.onPretrainSteps, 'tomosort-pretrain-steps'),
      ' steps at ',
      numberInput(p.pretrainSize, p.onPretrainSize, 'tomosort-pretrain-size'),
      ' px ',
      button('Pre-train', 'tomosort-pretrain', p.onPretrain, p.busy),
    ),
    p.listError ? h('div', { role: 'alert', style: { color: '#ff9a9a' } }, p.listError) : null,
    progressIn('model', p.job),
  );
}

/** Above this many predicted slices the review list starts folded (the slice on screen is reviewed from its own line). */
export const REVIEW_OPEN_ROWS = 12;

/**
 * The predictions to review: the slice on screen accepted or not from one line (a radiologist
 * reviews by scrolling the images), accept all, and a list that folds away — in the panel's own
 * flow, no scrolling box inside the scrolling panel.
 */
function Review(p: { predicted: readonly Predicted[]; accepted: ReadonlySet<string>; here: string | undefined; onAccepted: (next: ReadonlySet<string>) => void; onAcceptAll: () => void; onGo: (x: Predicted) => void }): ReactElement {
  const [open, setOpen] = useState(p.predicted.length <= REVIEW_OPEN_ROWS);
  const toggle = (sop: string) => {
    const next = new Set(p.accepted);
    if (next.has(sop)) next.delete(sop);
    else next.add(sop);
    p.onAccepted(next);
  };
  const onScreen = p.here ? p.predicted.find((x) => x.sopInstanceUID === p.here) : undefined;
  return h(
    'div',
    { 'data-testid': 'tomosort-review' },
    h('div', { 'data-testid': 'tomosort-review-count' }, `Review: ${p.accepted.size} of ${p.predicted.length} predicted slice(s) accepted (the rest are proposed, not exported)`),
    onScreen
      ? h(
          'div',
          { 'data-testid': 'tomosort-review-here' },
          `Slice ${onScreen.index + 1} on screen: ${p.accepted.has(onScreen.sopInstanceUID) ? 'accepted' : 'proposed'} `,
          button(p.accepted.has(onScreen.sopInstanceUID) ? 'unaccept' : 'accept', 'tomosort-accept-here', () => toggle(onScreen.sopInstanceUID)),
        )
      : null,
    button('accept all', 'tomosort-accept-all', p.onAcceptAll),
    button(open ? 'hide the list' : `list the ${p.predicted.length} slices`, 'tomosort-review-toggle', () => setOpen(!open)),
    open
      ? list(
          {},
          ...p.predicted.map((x) => {
            const isAccepted = p.accepted.has(x.sopInstanceUID);
            return item(
              x.sopInstanceUID,
              { style: isAccepted ? {} : { opacity: 0.6 } },
              `slice ${x.index + 1} (${x.voxels} voxels, ${isAccepted ? 'accepted' : 'proposed'})`,
              button('go', `tomosort-go-predicted-${x.index}`, () => p.onGo(x)),
              button(isAccepted ? 'unaccept' : 'accept', `tomosort-${isAccepted ? 'unaccept' : 'accept'}-${x.index}`, () => toggle(x.sopInstanceUID)),
            );
          }),
        )
      : null,
  );
}

export function TrainSection(p: {
  steps: readonly [number, number];
  onSteps: (steps: [number, number]) => void;
  qualityFolds: number;
  onQualityFolds: (v: number) => void;
  canRun: boolean;
  intensity: string | undefined;
  quality: string | undefined;
  compute: TrainingCompute | undefined;
  predicted: readonly Predicted[];
  accepted: ReadonlySet<string>;
  /** SOP instance of the acquired slice on screen, if any. */
  here: string | undefined;
  exported: string | undefined;
  job: JobView;
  onAccepted: (next: ReadonlySet<string>) => void;
  onAcceptAll: () => void;
  onGoPredicted: (x: Predicted) => void;
  onFineTune: () => void;
  onExport: () => void;
}): ReactElement {
  return h(
    'div',
    null,
    h('div', null, 'Steps: decoder warm-up ', numberInput(p.steps[0], (v) => p.onSteps([v, p.steps[1]]), 'tomosort-frozen-steps'), ' full ', numberInput(p.steps[1], (v) => p.onSteps([p.steps[0], v]), 'tomosort-steps')),
    h('div', null, 'Quality estimate folds (each trains once more; 0 = none): ', numberInput(p.qualityFolds, p.onQualityFolds, 'tomosort-quality-folds')),
    button('Fine-tune and predict', 'tomosort-train', p.onFineTune, !p.canRun),
    progressIn('train', p.job),
    p.intensity ? h('div', { 'data-testid': 'tomosort-intensity' }, p.intensity) : null,
    p.quality ? h('div', { 'data-testid': 'tomosort-quality' }, p.quality) : null,
    // The figures also as data, for bench viewer.
    p.compute ? h('div', { 'data-testid': 'tomosort-step-cost', 'data-compute': JSON.stringify(p.compute), style: { opacity: 0.7 } }, describeCompute(p.compute)) : null,
    p.predicted.length > 0 ? h(Review, { predicted: p.predicted, accepted: p.accepted, here: p.here, onAccepted: p.onAccepted, onAcceptAll: p.onAcceptAll, onGo: p.onGoPredicted }) : null,
    button('Export SEG to the PACS', 'tomosort-export', p.onExport, !p.canRun),
    p.exported ? h('div', { 'data-testid': 'tomosort-exported' }, `SEG series ${p.exported}`) : null,
  );
}

export function LocalizeSection(p: {
  busy: boolean;
  job: JobView;
  scored: Scored | undefined;
  /** The synced viewport's slice for the one on screen. */
  synced: { description: string; match: SliceMatch; index: number; count: number } | undefined;
  /** A slice of the series is on screen, and its SOP instance if it is an acquired one. */
  onSlice: boolean;
  here: string | undefined;
  onCheckOrder: () => void;
  onSync: () => void;
}): ReactElement {
  const s = p.scored;
  const at = s && p.here ? s.bySop.get(p.here) : undefined;
  return h(
    'div',
    { 'data-testid': 'tomosort-localize', style: { marginTop: '8px' } },
    button('Check slice order (score head)', 'tomosort-score', p.onCheckOrder, p.busy),
    button('Sync the other viewport to this one', 'tomosort-sync', p.onSync, p.busy),
    progressIn('localize', p.job),
    p.synced
      ? h(
          'div',
          { 'data-testid': 'tomosort-sync-status' },
          `${p.synced.description} follows: this slice ≈ its slice ${p.synced.index + 1} of ${p.synced.count}, ${p.synced.match.mm.toFixed(0)} ± ${p.synced.match.sdMm.toFixed(0)} mm into it${p.synced.match.extrapolated ? ' (beyond its range)' : ''}.`,
        )
      : null,
    s ? h('div', { 'data-testid': 'tomosort-order' }, `Score vs position ρ = ${s.rho.toFixed(2)}: ${describeOrder(s.order)}${s.blank > 0 ? ` (${s.blank} blank slice(s) left out of the check.)` : ''}`) : null,
    s && p.onSlice && s.bySop.size === 0 ? h('div', { 'data-testid': 'tomosort-position' }, `This series is not axial: its ${s.n} body-axis positions were scored from axial reslices, so no slice on screen has one.`) : null,
    s && p.onSlice && at ? h('div', { 'data-testid': 'tomosort-position' }, `This slice: score ${at.score.toFixed(2)}, ${Math.round((100 * at.rank) / Math.max(1, s.n - 1))}% along the series' body axis`) : null,
  );
}

export function ComputeChoice(p: { compute: Compute; busy: boolean; onCompute: (c: Compute) => void }): ReactElement {
  return h(
    'div',
    null,
    'Compute: ',
    h(
      'select',
      { 'data-testid': 'tomosort-compute-choice', value: p.compute, disabled: p.busy, style: { ...CONTROL_STYLE, maxWidth: '100%' }, onChange: (e: { target: { value: string } }) => p.onCompute(e.target.value as Compute) },
      h('option', { value: 'auto' }, 'auto (GPU if there is one, else CPU)'),
      h('option', { value: 'webgpu' }, 'WebGPU'),
      h('option', { value: 'wasm' }, 'CPU (wasm)'),
    ),
  );
}
