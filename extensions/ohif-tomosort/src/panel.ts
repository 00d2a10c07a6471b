import { createElement as h, useEffect, useRef, useState } from 'react';
import type { ReactElement } from 'react';
import { createRoot } from 'react-dom/client';
import type { Root } from 'react-dom/client';
import { ModelChoiceError, StepMissingError } from './errors';
import { cornerstone, hostServices, segServices } from './host';
import { useActiveSeries, useErrorLine, useSensibleVoi, useWebGpu, useWorker } from './panelHooks';
import { describeOrder, describeQuality, onScreenWords } from './panelWords';
import { activeSegmentIndex, addClass, annotationSignature, classesFromSegments, describeCounts, voxelsPerClass } from './labels';
import { loadAnnotation, saveAnnotation } from './annotationStore';
import type { SavedAnnotation } from './annotationStore';
import { LossChart } from './lossChart';
import { pickedModel, rememberBrowserModel, useModelChoices } from './modelChoices';
import type { ModelChoice } from './modelChoices';
import { describeModel, otherSeriesViewports, showPlane } from './ohif';
import type { ActiveSeries } from './ohif';
import { panelMessage } from './panelMessage';
import { exportSlices, hasLabel, parsePlaneKey, planeKey, trainingPayload } from './planes';
import { DEFAULT_QUALITY_FOLDS } from './worker/protocol';
import { onPanelAction } from './commands';
import type { PanelAction } from './commands';
import type { PlaneRef } from './planes';
import { addLabel, annotatedPlanes, clearPlane, createSegmentation, onSegmentationChange, planeWords, sopOfImageId, stackIndexBySop, thresholdPlane, writeSlices } from './segmentation';
import type { Compute, JobClass, ModelRef, OrderFindingMessage, SegSummary, SliceLabels, SliceMatch } from './worker/protocol';

/**
 * The panel runs as an island: the host's React (18.3.1, not exposed) renders a plain <div>
 * created with our own React copy (elements are plain objects, so that is compatible); a ref
 * callback mounts our own root into it. Hooks are only used inside the island, where our React
 * renders: hooks from our copy inside the host's tree would crash the route.
 */

const roots = new WeakMap<HTMLElement, Root>();

/** The annotated set is read this long after the last change event of a burst. */
const REFRESH_DEBOUNCE_MS = 150;
/** Read anyway this often (a change no event announced: OHIF's segment list renames). */
const SAFETY_POLL_MS = 3_000;
/** Without cornerstone's events: the poll alone. */
const FALLBACK_POLL_MS = 700;

const section = (title: string, testId: string, ...children: (ReactElement | string | null)[]): ReactElement =>
  h('section', { 'data-testid': testId, style: { marginBottom: '12px' } }, h('h3', { style: { fontWeight: 600, margin: '0 0 4px' } }, title), ...children);

type Training =
  | { state: 'idle' }
  | { state: 'running'; message: string; step: number; steps: number; loss: number; eta: number; stepsPerSecond: number; losses: number[] }
  | { state: 'done'; message: string; losses: number[] };

type Annotated = PlaneRef & { key: string; voxels: number; counts: number[]; done: boolean; sopInstanceUID?: string };

/** A plane's suffix in test ids: the stack index for an acquired slice (as before reformats), else its key. */
const planeTestId = (p: PlaneRef): string => (p.axis === 2 ? String(p.index) : planeKey(p).replace(':', '-'));

/**
 * Form controls in OHIF's own look: its theme's CSS variables (HSL triples, as its Tailwind theme
 * uses them), with its dark defaults where a host does not define them — not the browser's
 * white native inputs on OHIF's dark panels.
 */
const CONTROL_STYLE = {
  background: 'hsl(var(--input, 218 22% 10%))',
  color: 'hsl(var(--foreground, 0 0% 98%))',
  border: '1px solid hsl(var(--border, 218 22% 18%))',
  borderRadius: '4px',
  padding: '1px 4px',
} as const;

/**
 * Everything the panel does on the open series: labels and the sparse annotated set, the model
 * to start from (store, this browser, a file, or pre-trained here), fine-tune + predict + review,
 * export, and the score head's order check and position. One worker runs one job at a time.
 */
function Workbench({ series }: { series: ActiveSeries | undefined }): ReactElement {
  const [classes, setClasses] = useState<JobClass[]>([{ value: 1, name: 'structure' }]);
  const [activeClass, setActiveClass] = useState(1);
  const [newLabel, setNewLabel] = useState('');
  const [choiceId, setChoiceId] = useState('');
  const [picked, setPicked] = useState<ModelChoice | undefined>(undefined);
  const listed = useModelChoices(picked);
  const choices = listed.state === 'loading' ? [] : listed.choices;
  const choice = choices.find((c) => c.id === choiceId);
  const [segmentationId, setSegmentationId] = useState<string | undefined>(undefined);
  const segmentationIdRef = useRef(segmentationId);
  segmentationIdRef.current = segmentationId;
  // The PACS' stored annotations (DICOM SEG) of the open series, once asked for.
  const [storedSegs, setStoredSegs] = useState<readonly SegSummary[] | undefined>(undefined);
  const [predictionId, setPredictionId] = useState<string | undefined>(undefined);
  const [annotated, setAnnotated] = useState<Annotated[]>([]);
  // Plane keys (see planes.ts) marked done: acquired slices "k:<stack index>", reformatted planes "row:…" / "col:…".
  const [done, setDone] = useState<ReadonlySet<string>>(new Set());
  // The annotation kept in this browser for the open series (survives a reload), and what was last written.
  const [saved, setSaved] = useState<SavedAnnotation | undefined>(undefined);
  const savedSignature = useRef('');
  const [range, setRange] = useState<[number, number]>([-200, 3000]);
  const [steps, setSteps] = useState<[number, number]>([10, 20]);
  const [qualityFolds, setQualityFolds] = useState(DEFAULT_QUALITY_FOLDS);
  const [quality, setQuality] = useState<string | undefined>(undefined);
  const [intensity, setIntensity] = useState<string | undefined>(undefined);
  // 128²: on the sample head CT, Dice 0.957 against its head mask vs 0.919 at 64², 24 s of training on one wasm thread (docs/bench/viewer-*.txt).
  const [size, setSize] = useState(128);
  const [pretrainSteps, setPretrainSteps] = useState(200);
  // Its own size: pre-training and fine-tuning sizes are separate choices (a pre-trained model then fixes the fine-tuning size).
  const [pretrainSize, setPretrainSize] = useState(64);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [error, setError] = useErrorLine();
  const [training, setTraining] = useState<Training>({ state: 'idle' });
  const [predicted, setPredicted] = useState<(SliceLabels & { index: number; voxels: number })[]>([]);
  // Predictions start as proposed: only those the radiologist accepts are exported.
  const [accepted, setAccepted] = useState<ReadonlySet<string>>(new Set());
  // The latest predictions, for the worker's message handler (a new run clears what the last one drew).
  const predictedRef = useRef(predicted);
  predictedRef.current = predicted;
  const [exported, setExported] = useState<string | undefined>(undefined);
  const [scored, setScored] = useState<{ rho: number; order: readonly OrderFindingMessage[]; blank: number; bySop: Map<string, { score: number; rank: number }>; n: number } | undefined>(undefined);
  const [sync, setSync] = useState<{ viewportId: string; description: string; bySop: Map<string, SliceMatch> } | undefined>(undefined);
  const syncTarget = useRef<{ viewportId: string; description: string } | undefined>(undefined);
  // The actions as this render defines them, for OHIF's commands (hotkeys) through the panel's one handler.
  const actionsRef = useRef<Partial<Record<PanelAction, () => void>>>({});
  useEffect(() => onPanelAction((a) => (actionsRef.current[a] ?? (() => setError('Open a series first.')))()), []);
  const attempt = (fn: () => void | Promise<void>) => {
    setError(undefined);
    Promise.resolve()
      .then(fn)
      .catch((e: unknown) => setError(panelMessage(e)));
  };
  /**
   * Starts the sparse segmentation from stored labels (kept in this browser, or a SEG of the
   * PACS): its labels, label images and done marks (acquired slices by SOP instance, reformatted
   * planes by key). Returns the label images written.
   */
  const adoptAnnotation = async (s: ActiveSeries, a: { readonly classes: readonly JobClass[]; readonly slices: readonly SliceLabels[]; readonly doneSops: readonly string[]; readonly doneKeys?: readonly string[] }): Promise<number> => {
    const id = await createSegmentation(segServices(), s.displaySetInstanceUID, s.viewportId, 'tomosort sparse annotation', a.classes);
    const written = writeSlices(segServices(), cornerstone(), id, a.slices);
    const index = stackIndexBySop(segServices(), id);
    setClasses([...a.classes]);
    setActiveClass(a.classes[0]?.value ?? 1);
    const doneSlices = a.doneSops.map((sop) => index.get(sop)).filter((k): k is number => k !== undefined);
    setDone(new Set([...doneSlices.map((k) => planeKey({ axis: 2, index: k })), ...(a.doneKeys ?? []).filter((key) => parsePlaneKey(key) !== undefined)]));
    setSegmentationId(id);
    return written;
  };
  const worker = useWorker((m) => {
    if (m.type === 'status') setTraining((t) => (t.state === 'running' ? { ...t, message: m.message } : { state: 'running', message: m.message, step: 0, steps: 0, loss: Number.NaN, eta: 0, stepsPerSecond: 0, losses: [] }));
    if (m.type === 'progress') {
      const label = m.phase === 'frozen' ? 'Decoder warm-up' : m.phase === 'pretrain' ? 'Pre-training (SortingLoss)' : m.phase === 'quality' ? 'Quality estimate' : 'Fine-tuning';
      setTraining((t) => ({ state: 'running', message: label, step: m.step, steps: m.steps, loss: m.loss, eta: m.etaSeconds, stepsPerSecond: m.stepsPerSecond, losses: [...(t.state === 'idle' ? [] : t.losses), m.loss] }));
    }
    if (m.type === 'error') {
      setTraining({ state: 'idle' });
      setError(m.message);
    }
    const finish = (text: string) => setTraining((t) => ({ state: 'done', message: text, losses: t.state === 'idle' ? [] : t.losses }));
    if (m.type === 'predicted') {
      setAccepted(new Set());
      finish(
        `${m.cancelled ? 'Cancelled after' : 'Trained'} ${m.steps} steps in ${m.trainSeconds.toFixed(1)} s (${(m.steps / Math.max(m.trainSeconds, 1e-9)).toFixed(2)} steps/s); ` +
          `predicted ${m.slices.length} other slice(s) in ${(m.seconds - m.trainSeconds - m.qualitySeconds).toFixed(1)} s (shown as "tomosort prediction", proposed: accept the ones to export).`,
      );
      setQuality(describeQuality(m.quality, m.size, m.qualitySeconds));
      setIntensity(`Intensities: ${m.intensity}.`);
      attempt(async () => {
        if (!series) return;
        const id = predictionId ?? (await createSegmentation(segServices(), series.displaySetInstanceUID, series.viewportId, 'tomosort prediction', classes));
        setPredictionId(id);
        // A new run replaces the last one everywhere: its slices this run did not predict are cleared.
        const now = new Set(m.slices.map((p) => p.sopInstanceUID));
        const stale = predictedRef.current.filter((p) => !now.has(p.sopInstanceUID)).map((p) => ({ sopInstanceUID: p.sopInstanceUID, labels: new Uint8Array(p.labels.length) }));
        writeSlices(segServices(), cornerstone(), id, [...stale, ...m.slices]);
        const index = stackIndexBySop(segServices(), id);
        setPredicted(
          m.slices
            .map((p) => ({ ...p, index: index.get(p.sopInstanceUID) ?? -1, voxels: p.labels.reduce((n, v) => n + (v ? 1 : 0), 0) }))
            .sort((a, b) => a.index - b.index),
        );
      });
    }
    if (m.type === 'pretrained') {
      // Choosing it re-renders the panel, which re-reads the browser's model list.
      rememberBrowserModel(m.name, m.url, m.summary);
      setChoiceId(`browser:${m.name}`);
      finish(`${m.cancelled ? 'Pre-training cancelled' : 'Pre-trained'} after ${m.summary.steps} steps in ${m.seconds.toFixed(1)} s; score vs position ρ = ${m.rho.toFixed(2)} on this series. Kept in this browser as "${m.name}" and chosen below.`);
    }
    if (m.type === 'scored') {
      const ranked = [...m.scores].sort((a, b) => a.score - b.score);
      const bySop = new Map(ranked.filter((x) => x.sopInstanceUID).map((x, rank) => [x.sopInstanceUID, { score: x.score, rank }]));
      setScored({ rho: m.rho, order: m.order, blank: m.blankSlices, bySop, n: m.scores.length });
      finish(`Scored ${m.scores.length} axial slice(s).`);
    }
    if (m.type === 'matched' && syncTarget.current) {
      setSync({ ...syncTarget.current, bySop: new Map(m.matches.map((x) => [x.sopInstanceUID, x])) });
      finish(`Matched ${m.matches.length} slice(s) to ${syncTarget.current.description} (reference ρ = ${m.referenceRho.toFixed(2)}): it now follows this viewport.`);
    }
    if (m.type === 'exported') {
      setExported(m.seriesInstanceUID);
      finish(`Stored a DICOM SEG with ${m.frames} frame(s) in the PACS as a new series.`);
    }
    if (m.type === 'segs') {
      setStoredSegs(m.segs);
      finish(`${m.segs.length === 0 ? 'No stored annotation (DICOM SEG) of this series in the PACS' : `${m.segs.length} stored annotation(s) of this series in the PACS: load one to continue from it`}.${m.skipped.length > 0 ? ` Left out: ${m.skipped.join('; ')}` : ''}`);
    }
    if (m.type === 'segLoaded') {
      attempt(async () => {
        if (!series || segmentationIdRef.current) return;
        // A frame with no voxel says "annotated, nothing here": that slice stays in the set, marked done.
        const written = await adoptAnnotation(series, { classes: m.classes, slices: m.slices, doneSops: m.slices.filter((x) => !hasLabel(x.labels)).map((x) => x.sopInstanceUID) });
        setStoredSegs(undefined);
        finish(`Loaded SEG series ${m.segSeriesInstanceUID} as the annotation: ${written} slice(s) of labels (${m.classes.map((c) => c.name).join(', ')}).`);
      });
    }
  });
  // What this browser kept for the open series, offered for restoring until a segmentation exists.
  const seriesUid = series?.seriesInstanceUID;
  useEffect(() => {
    setSaved(undefined);
    if (!seriesUid) return;
    let live = true;
    loadAnnotation(seriesUid).then(
      (a) => live && setSaved(a),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [seriesUid]);
  // The annotated set follows the labelmap (brush, eraser, threshold all land there) plus the slices marked done.
  useEffect(() => {
    if (!segmentationId) return;
    const refresh = () => {
      try {
        // OHIF's segment list owns the labels: added, renamed or deleted there, they follow here.
        const segments = segServices().segmentationService.getSegmentation(segmentationId)?.segments;
        if (segments) {
          const next = classesFromSegments(segments, classes);
          if (next && next.length > 0) setClasses(next);
          const active = activeSegmentIndex(segments);
          if (active !== undefined && active !== activeClass) setActiveClass(active);
        }
        const { planes: set, grid } = annotatedPlanes(segServices(), cornerstone(), segmentationId, done, series?.planeNames);
        setAnnotated(set.map(({ axis, index, key, voxels, labels, done: marked }) => ({ axis, index, key, voxels, counts: voxelsPerClass(labels, classes), done: marked, ...(axis === 2 ? { sopInstanceUID: grid.sops[index]! } : {}) })));
        // Every change of the annotated set or the labels is kept in IndexedDB, keyed by series.
        const signature = annotationSignature(set, classes);
        // An empty set is written only over one this panel wrote (everything removed), never over a kept annotation not yet restored.
        if (series && signature !== savedSignature.current && (set.length > 0 || savedSignature.current !== '')) {
          savedSignature.current = signature;
          const record: SavedAnnotation = {
            seriesInstanceUID: series.seriesInstanceUID,
            savedAt: new Date().toISOString(),
            classes,
            // Whole label images: a reformatted plane is a row or column of each.
            slices: grid.stack.slices.flatMap((data, k) => (data && hasLabel(data)) || done.has(planeKey({ axis: 2, index: k })) ? [{ sopInstanceUID: grid.sops[k]!, labels: Uint8Array.from(data ?? []) }] : []),
            done: set.filter((a) => a.done && a.axis === 2).map((a) => grid.sops[a.index]!),
            doneReformats: set.filter((a) => a.done && a.axis !== 2).map((a) => a.key),
            planes: set.map((a) => a.key),
          };
          saveAnnotation(record).then(
            () => setSaved(record),
            (e: unknown) => setError(`The annotation could not be kept in this browser: ${panelMessage(e)}`),
          );
        }
      } catch {
        /* segmentation removed meanwhile */
      }
    };
    // Reading the set hashes every annotated voxel: do it when cornerstone says something changed
    // (a stroke fires many events: one refresh per burst), with a slow poll as a safety net.
    let pending: ReturnType<typeof setTimeout> | undefined;
    const soon = () => {
      if (pending === undefined) pending = setTimeout(() => ((pending = undefined), refresh()), REFRESH_DEBOUNCE_MS);
    };
    const unsubscribe = onSegmentationChange(cornerstone(), soon);
    refresh();
    const timer = setInterval(refresh, unsubscribe ? SAFETY_POLL_MS : FALLBACK_POLL_MS);
    return () => {
      unsubscribe?.();
      clearTimeout(pending);
      clearInterval(timer);
    };
  }, [segmentationId, done, classes, activeClass, series?.seriesInstanceUID]);
  // A synced viewport follows the slice on screen to its matching slice.
  const here = series ? currentSop(series) : undefined;
  const target = here ? sync?.bySop.get(here) : undefined;
  const targetViewport = sync ? hostServices()?.cornerstoneViewportService.getCornerstoneViewport(sync.viewportId) : undefined;
  const targetIds = targetViewport?.getImageIds() ?? [];
  const targetIndex = target ? targetIds.findIndex((id) => sopOfImageId(id) === target.referenceSopInstanceUID) : -1;
  useEffect(() => {
    if (targetIndex >= 0 && targetViewport?.getCurrentImageIdIndex() !== targetIndex) void targetViewport?.setImageIdIndex?.(targetIndex);
  }, [targetViewport, targetIndex]);
  if (!series) {
    actionsRef.current = {};
    return h('div', null, 'Open a series to annotate.');
  }
  const viewport = () => {
    const vp = hostServices()!.cornerstoneViewportService.getCornerstoneViewport(series.viewportId);
    if (!vp) throw new StepMissingError('go', 'The viewport is not ready yet.');
    return vp;
  };
  /** Brings a plane of the labelmap grid on screen (an acquired slice by its SOP instance). */
  const jump = (p: PlaneRef & { readonly sopInstanceUID?: string }) => attempt(() => showPlane(viewport(), p, series.planeNames));
  /** The plane on screen in the labelmap's grid (an acquired slice by its SOP instance), or undefined (oblique, not ready). */
  const onScreen = ((): PlaneRef | undefined => {
    const p = series.plane;
    if (!p) return undefined;
    if (p.axis !== 2) return { axis: p.axis, index: p.index };
    const k = segmentationId && p.sopInstanceUID ? stackIndexBySop(segServices(), segmentationId).get(p.sopInstanceUID) : undefined;
    return { axis: 2, index: k ?? p.index };
  })();
  const planeOnScreen = (): PlaneRef => {
    if (!onScreen) throw new StepMissingError('annotate', 'The view on screen is oblique (or not ready): annotate in the acquisition, axial, coronal or sagittal orientation.');
    return onScreen;
  };
  const describe = (p: PlaneRef) => planeWords(p, series.planeNames);
  const number = (value: number, set: (v: number) => void, testId: string) =>
    h('input', { type: 'number', value, 'data-testid': testId, style: { ...CONTROL_STYLE, width: '56px' }, onChange: (e: { target: { value: string } }) => set(Number(e.target.value)) });
  const button = (label: string, testId: string, onClick: () => void, disabled = false) =>
    h('button', { 'data-testid': testId, disabled, onClick, style: { margin: '2px 4px 2px 0', padding: '2px 8px', border: '1px solid #5a7ea8', borderRadius: '4px', background: disabled ? '#1b2a3d' : '#24476e', color: '#fff', whiteSpace: 'nowrap', flex: 'none' } }, label);
  /** A list row: its text on one line (cut with an ellipsis, whole on hover), its buttons beside it. */
  const item = (key: string, attrs: Record<string, unknown>, text: string, ...controls: ReactElement[]) =>
    h(
      'li',
      { key, ...attrs, style: { display: 'flex', alignItems: 'center', gap: '2px', ...((attrs['style'] as object | undefined) ?? {}) } },
      h('span', { title: text, style: { flex: '1 1 auto', minWidth: 0, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' } }, text),
      ...controls,
    );
  const busy = training.state === 'running';
  /** The annotated set now: every plane drawn on and every plane marked done (empty = background only), with the labelmap. */
  const annotatedNow = () => annotatedPlanes(segServices(), cornerstone(), segmentationId!, done, series.planeNames);
  const needSegmentation = (): string => {
    if (!segmentationId) throw new StepMissingError('annotate', 'Start a sparse segmentation first ("New sparse segmentation").');
    return segmentationId;
  };
  // Buttons are disabled while a job runs; a hotkey gets the reason instead.
  const notBusy = () => {
    if (busy) throw new StepMissingError('job', 'A job is running: wait for it, or cancel it first.');
  };
  /** What the panel's buttons and OHIF's commands (hotkeys) do: one function each. */
  const actions: Record<PanelAction, () => void> = {
    threshold: () =>
      attempt(() => {
        const id = needSegmentation();
        const p = planeOnScreen();
        const n = thresholdPlane(segServices(), cornerstone(), id, p, range[0], range[1], activeClass, series.planeNames);
        const words = describe(p);
        setMessage(`${words[0]!.toUpperCase()}${words.slice(1)}: ${n} voxels labelled.`);
      }),
    markDone: () =>
      attempt(() => {
        needSegmentation();
        const key = planeKey(planeOnScreen());
        const next = new Set(done);
        if (next.has(key)) next.delete(key);
        else next.add(key);
        setDone(next);
      }),
    fineTune: () =>
      attempt(() => {
        notBusy();
        needSegmentation();
        const { planes, grid } = annotatedNow();
        if (planes.length === 0) throw new StepMissingError('finetune', 'Label (or mark done) at least one slice first.');
        const { annotated: slices, reformats } = trainingPayload(grid.stack, grid.sops, planes);
        setPredicted([]);
        setExported(undefined);
        worker.post({
          type: 'finetune',
          job: {
            studyInstanceUID: series.studyInstanceUID,
            seriesInstanceUID: series.seriesInstanceUID,
            annotated: slices,
            reformats,
            classes,
            // A chosen model brings its own input size and HU window (its manifest).
            model: choice?.ref ?? null,
            size,
            window: { center: 40, width: 400 },
            frozenSteps: steps[0],
            steps: steps[1],
            batch: 4,
            learningRate: 3e-3,
            seed: 1,
            qualityFolds,
          },
        });
        setQuality(undefined);
      }),
    acceptAll: () =>
      attempt(() => {
        if (predicted.length === 0) throw new StepMissingError('accept', 'No prediction to accept yet: fine-tune and predict first.');
        setAccepted(new Set(predicted.map((p) => p.sopInstanceUID)));
      }),
    rejectAll: () => setAccepted(new Set()),
    export: () =>
      attempt(() => {
        notBusy();
        needSegmentation();
        const { planes, grid } = annotatedNow();
        // Annotated slices whole; accepted predictions under the lines drawn in reformats.
        const chosen = new Map(predicted.filter((p) => accepted.has(p.sopInstanceUID)).map((p) => [p.sopInstanceUID, p.labels]));
        worker.post({ type: 'export', job: { studyInstanceUID: series.studyInstanceUID, seriesInstanceUID: series.seriesInstanceUID, slices: exportSlices(grid.stack, grid.sops, planes, chosen), classes } });
      }),
    checkOrder: () =>
      attempt(() => {
        notBusy();
        const model = scoreModel(choice);
        setScored(undefined);
        worker.post({ type: 'score', job: { studyInstanceUID: series.studyInstanceUID, seriesInstanceUID: series.seriesInstanceUID, model } });
      }),
    sync: () =>
      attempt(() => {
        notBusy();
        const other = otherSeriesViewports(hostServices()!, series)[0];
        if (!other) throw new StepMissingError('sync', 'Show a second series in another viewport first (change the layout to 1×2, then drag a series into the new viewport).');
        const model = scoreModel(choice);
        syncTarget.current = { viewportId: other.viewportId, description: `${other.description} (${other.modality})` };
        setSync(undefined);
        worker.post({
          type: 'match',
          job: { studyInstanceUID: series.studyInstanceUID, seriesInstanceUID: series.seriesInstanceUID, referenceStudyInstanceUID: other.studyInstanceUID, referenceSeriesInstanceUID: other.seriesInstanceUID, model },
        });
      }),
    cancel: () => worker.post({ type: 'cancel' }),
  };
  actionsRef.current = actions;
  const perLabel = classes.map((c, i) => `${c.name}: ${annotated.filter((a) => a.counts[i]! > 0).length}`).join(', ');

  const labelsSection = h(
    'div',
    { 'data-testid': 'tomosort-labels' },
    h(
      'div',
      null,
      'Label to draw: ',
      h(
        'select',
        {
          'data-testid': 'tomosort-active-label',
          value: activeClass,
          style: CONTROL_STYLE,
          onChange: (e: { target: { value: string } }) =>
            attempt(() => {
              const v = Number(e.target.value);
              setActiveClass(v);
              // Brush and eraser draw OHIF's active segment: keep it the panel's label.
              if (segmentationId) segServices().segmentationService.setActiveSegment(segmentationId, v);
            }),
        },
        ...classes.map((c) => h('option', { key: c.value, value: c.value }, `${c.value}: ${c.name}`)),
      ),
    ),
    h(
      'div',
      null,
      h('input', { 'data-testid': 'tomosort-new-label', placeholder: 'new label name', value: newLabel, style: { ...CONTROL_STYLE, width: '120px' }, onChange: (e: { target: { value: string } }) => setNewLabel(e.target.value) }),
      button('Add label', 'tomosort-add-label', () =>
        attempt(() => {
          const next = addClass(classes, newLabel);
          const added = next.at(-1)!;
          if (segmentationId) addLabel(segServices(), segmentationId, added.value, added.name);
          setClasses(next);
          setActiveClass(added.value);
          setNewLabel('');
        }),
        busy,
      ),
    ),
  );

  const restore = (a: SavedAnnotation) =>
    attempt(async () => {
      const written = await adoptAnnotation(series, { classes: a.classes, slices: a.slices, doneSops: a.done, ...(a.doneReformats ? { doneKeys: a.doneReformats } : {}) });
      setMessage(`Restored the annotation kept in this browser (saved ${new Date(a.savedAt).toLocaleString()}): ${written} of its ${a.slices.length} label image(s) written.`);
    });
  const annotationSection = !segmentationId
    ? h(
        'div',
        null,
        button('New sparse segmentation', 'tomosort-new-seg', () =>
          attempt(async () => setSegmentationId(await createSegmentation(segServices(), series.displaySetInstanceUID, series.viewportId, 'tomosort sparse annotation', classes))),
        ),
        saved && (saved.slices.length > 0 || (saved.doneReformats?.length ?? 0) > 0)
          ? button(`Restore the annotation kept in this browser (${saved.planes?.length ?? saved.slices.length} slice(s), ${saved.classes.map((c) => c.name).join(', ')})`, 'tomosort-restore', () => restore(saved))
          : null,
        button(
          'Continue from a SEG in the PACS…',
          'tomosort-list-segs',
          () => attempt(() => worker.post({ type: 'listSegs', job: { studyInstanceUID: series.studyInstanceUID, seriesInstanceUID: series.seriesInstanceUID } })),
          busy,
        ),
        storedSegs && storedSegs.length > 0
          ? h(
              'ul',
              { 'data-testid': 'tomosort-stored-segs', style: { margin: 0, paddingLeft: '16px' } },
              ...storedSegs.map((x) =>
                item(
                  x.seriesInstanceUID,
                  {},
                  `${x.description}: ${x.segments.join(', ') || 'no segment'}, ${x.slices} slice(s)`,
                  button('load', `tomosort-load-seg-${x.seriesInstanceUID}`, () =>
                    attempt(() => worker.post({ type: 'loadSeg', job: { studyInstanceUID: series.studyInstanceUID, seriesInstanceUID: series.seriesInstanceUID, segSeriesInstanceUID: x.seriesInstanceUID } })),
                    busy,
                  ),
                ),
              ),
            )
          : null,
      )
    : h(
        'div',
        null,
        h('div', null, `Threshold the plane on screen (${series.modality === 'CT' ? 'HU' : `${series.modality} values as stored`}): `, number(range[0], (v) => setRange([v, range[1]]), 'tomosort-lo'), ' to ', number(range[1], (v) => setRange([range[0], v]), 'tomosort-hi')),
        button(`Label this ${onScreen?.axis === 2 || !onScreen ? 'slice' : 'plane'} as ${classes.find((c) => c.value === activeClass)?.name ?? '?'}`, 'tomosort-threshold', actions.threshold),
        button(onScreen && done.has(planeKey(onScreen)) ? `Unmark this ${onScreen.axis === 2 ? 'slice' : 'plane'}` : `Mark this ${onScreen?.axis === 2 || !onScreen ? 'slice' : 'plane'} done`, 'tomosort-mark-done', actions.markDone),
        h('div', { 'data-testid': 'tomosort-annotated' }, `${annotated.length} annotated slice(s)`),
        h('div', { 'data-testid': 'tomosort-per-label', style: { opacity: 0.85 } }, `Slices per label: ${perLabel}`),
        h(
          'ul',
          { style: { margin: 0, paddingLeft: '16px' } },
          ...annotated.map((a) =>
            item(
              a.key,
              { 'data-testid': `tomosort-annotated-${planeTestId(a)}`, ...(a.sopInstanceUID ? { 'data-sop': a.sopInstanceUID } : {}) },
              `${a.done ? '✓ ' : ''}${describe(a)} (${describeCounts(a.counts, classes)})`,
              button('go', `tomosort-go-${planeTestId(a)}`, () => jump(a)),
              button('remove', `tomosort-remove-${planeTestId(a)}`, () =>
                attempt(() => {
                  clearPlane(segServices(), cornerstone(), segmentationId, a);
                  const next = new Set(done);
                  next.delete(a.key);
                  setDone(next);
                }),
              ),
            ),
          ),
        ),
      );

  const modelSection = h(
    'div',
    { 'data-testid': 'tomosort-model-choice' },
    h(
      'div',
      null,
      'Start from: ',
      h(
        'select',
        { 'data-testid': 'tomosort-model', value: choiceId, style: { ...CONTROL_STYLE, width: '100%' }, onChange: (e: { target: { value: string } }) => setChoiceId(e.target.value) },
        h('option', { value: '' }, 'random weights (no pre-training)'),
        ...choices.map((c) => h('option', { key: c.id, value: c.id }, `${c.origin === 'store' ? 'store' : c.origin === 'browser' ? 'this browser' : 'file'}: ${describeModel(c.model)}`)),
      ),
    ),
    choice ? h('div', { 'data-testid': 'tomosort-manifest', style: { opacity: 0.85 } }, `Manifest: ${describeModel(choice.model)}`) : h('div', null, 'Input size (pixels): ', number(size, setSize, 'tomosort-size')),
    h(
      'div',
      null,
      'Or a model from disk (model.json + weights.bin): ',
      h('input', {
        type: 'file',
        multiple: true,
        accept: '.json,.bin',
        'data-testid': 'tomosort-model-files',
        onChange: (e: { target: { files: FileList | null } }) =>
          attempt(async () => {
            const files = Array.from(e.target.files ?? []);
            if (files.length === 0) return;
            const c = await pickedModel(files);
            setPicked(c);
            setChoiceId(c.id);
          }),
      }),
    ),
    h(
      'div',
      null,
      'No model yet? Pre-train on this series (SortingLoss): ',
      number(pretrainSteps, setPretrainSteps, 'tomosort-pretrain-steps'),
      ' steps at ',
      number(pretrainSize, setPretrainSize, 'tomosort-pretrain-size'),
      ' px ',
      button(
        'Pre-train',
        'tomosort-pretrain',
        () =>
          attempt(() => {
            setScored(undefined);
            worker.post({
              type: 'pretrain',
              job: { studyInstanceUID: series.studyInstanceUID, seriesInstanceUID: series.seriesInstanceUID, size: pretrainSize, window: { center: 40, width: 400 }, steps: pretrainSteps, slicesPerVolume: 8, volumesPerBatch: 2, learningRate: 3e-3, seed: 1 },
            });
          }),
        busy,
      ),
    ),
    listed.state === 'error' ? h('div', { role: 'alert', style: { color: '#ff9a9a' } }, listed.message) : null,
  );

  const trainSection = segmentationId
    ? h(
        'div',
        null,
        h('div', null, 'Steps: decoder warm-up ', number(steps[0], (v) => setSteps([v, steps[1]]), 'tomosort-frozen-steps'), ' full ', number(steps[1], (v) => setSteps([steps[0], v]), 'tomosort-steps')),
        h('div', null, 'Quality estimate folds (each trains once more; 0 = none): ', number(qualityFolds, setQualityFolds, 'tomosort-quality-folds')),
        button(
          'Fine-tune and predict',
          'tomosort-train',
          actions.fineTune,
          busy || annotated.length === 0,
        ),
        intensity ? h('div', { 'data-testid': 'tomosort-intensity' }, intensity) : null,
        quality ? h('div', { 'data-testid': 'tomosort-quality' }, quality) : null,
        predicted.length > 0 && predictionId
          ? h(
              'div',
              { 'data-testid': 'tomosort-review' },
              h('div', { 'data-testid': 'tomosort-review-count' }, `Review: ${accepted.size} of ${predicted.length} predicted slice(s) accepted (the rest are proposed, not exported)`),
              button('accept all', 'tomosort-accept-all', actions.acceptAll),
              h(
                'ul',
                { style: { margin: 0, paddingLeft: '16px', maxHeight: '160px', overflowY: 'auto' } },
                ...predicted.map((p) => {
                  const isAccepted = accepted.has(p.sopInstanceUID);
                  const toggle = () => {
                    const next = new Set(accepted);
                    if (isAccepted) next.delete(p.sopInstanceUID);
                    else next.add(p.sopInstanceUID);
                    setAccepted(next);
                  };
                  return item(
                    p.sopInstanceUID,
                    { style: isAccepted ? {} : { opacity: 0.6 } },
                    `slice ${p.index + 1} (${p.voxels} voxels, ${isAccepted ? 'accepted' : 'proposed'})`,
                    button('go', `tomosort-go-predicted-${p.index}`, () => jump({ axis: 2, index: p.index, sopInstanceUID: p.sopInstanceUID })),
                    button(isAccepted ? 'unaccept' : 'accept', `tomosort-${isAccepted ? 'unaccept' : 'accept'}-${p.index}`, toggle),
                  );
                }),
              ),
            )
          : null,
        button(
          'Export SEG to the PACS',
          'tomosort-export',
          actions.export,
          busy || annotated.length === 0,
        ),
      )
    : null;

  const localizeSection = h(
    'div',
    { 'data-testid': 'tomosort-localize', style: { marginTop: '8px' } },
    button(
      'Check slice order (score head)',
      'tomosort-score',
      actions.checkOrder,
      busy,
    ),
    button(
      'Sync the other viewport to this one',
      'tomosort-sync',
      actions.sync,
      busy,
    ),
    sync && target
      ? h('div', { 'data-testid': 'tomosort-sync-status' }, `${sync.description} follows: this slice ≈ its slice ${targetIndex + 1} of ${targetIds.length}, ${target.mm.toFixed(0)} ± ${target.sdMm.toFixed(0)} mm into it${target.extrapolated ? ' (beyond its range)' : ''}.`)
      : null,
    scored ? h('div', { 'data-testid': 'tomosort-order' }, `Score vs position ρ = ${scored.rho.toFixed(2)}: ${describeOrder(scored.order)}${scored.blank > 0 ? ` (${scored.blank} blank slice(s) left out of the check.)` : ''}`) : null,
    scored && series.currentSlice >= 0
      ? (() => {
          if (scored.bySop.size === 0) return h('div', { 'data-testid': 'tomosort-position' }, `This series is not axial: its ${scored.n} body-axis positions were scored from axial reslices, so no slice on screen has one.`);
          const at = here ? scored.bySop.get(here) : undefined;
          return at ? h('div', { 'data-testid': 'tomosort-position' }, `This slice: score ${at.score.toFixed(2)}, ${Math.round((100 * at.rank) / Math.max(1, scored.n - 1))}% along the series' body axis`) : null;
        })()
      : null,
  );

  return h(
    'div',
    null,
    section('Labels', 'tomosort-labels-section', labelsSection),
    section('Sparse annotation', 'tomosort-annotation-section', annotationSection),
    section('Model', 'tomosort-models', modelSection),
    section('Fine-tune, predict, review, export', 'tomosort-train-section', trainSection ?? h('div', null, 'Start a sparse segmentation first.')),
    section('Localize', 'tomosort-localize-section', localizeSection),
    h(
      'div',
      null,
      'Compute: ',
      h(
        'select',
        { 'data-testid': 'tomosort-compute-choice', value: worker.compute, disabled: busy, style: { ...CONTROL_STYLE, maxWidth: '100%' }, onChange: (e: { target: { value: string } }) => worker.setCompute(e.target.value as Compute) },
        h('option', { value: 'auto' }, 'auto (GPU if there is one, else CPU)'),
        h('option', { value: 'webgpu' }, 'WebGPU'),
        h('option', { value: 'wasm' }, 'CPU (wasm)'),
      ),
    ),
    h('div', { 'data-testid': 'tomosort-worker', role: 'status' }, worker.error ?? (worker.backend ? `Training runs in a worker on ${worker.backend}.` : 'Starting the training worker…')),
    training.state === 'running'
      ? h(
          'div',
          { 'data-testid': 'tomosort-progress' },
          `${training.message}${training.steps ? `: step ${training.step}/${training.steps}, loss ${training.loss.toFixed(3)}, ${training.stepsPerSecond.toFixed(2)} steps/s, ETA ${Math.ceil(training.eta)} s` : ''}`,
          training.steps ? h('progress', { max: training.steps, value: training.step, style: { width: '100%' } }) : null,
          button('Cancel', 'tomosort-cancel', actions.cancel),
        )
      : null,
    training.state !== 'idle' ? h(LossChart, { losses: training.losses }) : null,
    training.state === 'done' ? h('div', { 'data-testid': 'tomosort-done' }, training.message) : null,
    exported ? h('div', { 'data-testid': 'tomosort-exported' }, `SEG series ${exported}`) : null,
    message ? h('div', null, message) : null,
    error ? h('div', { role: 'alert', 'data-testid': 'tomosort-error', style: { color: '#ff9a9a' } }, error) : null,
  );
}

/** The chosen model's reference, if it has a slice-score head (order check, positions, sync). */
function scoreModel(choice: ModelChoice | undefined): ModelRef {
  if (!choice) throw new StepMissingError('score', 'Choose a SortingLoss model under "Start from" (or pre-train one on this series) first.');
  if (choice.model.manifest?.architecture?.kind !== 'score') throw new ModelChoiceError(`"${choice.model.name}" has no slice-score head (it is a ${choice.model.manifest?.method ?? 'unknown'} model): choose a SortingLoss model.`, { model: choice.model.name });
  return choice.ref;
}


/** SOP instance of the slice on screen (from the viewport's image id). */
function currentSop(series: ActiveSeries): string | undefined {
  const vp = hostServices()?.cornerstoneViewportService.getCornerstoneViewport(series.viewportId);
  const id = vp?.getImageIds()[series.currentSlice];
  return id ? sopOfImageId(id) : undefined;
}

function Panel(): ReactElement {
  const series = useActiveSeries();
  const gpu = useWebGpu();
  const voi = useSensibleVoi(series);
  return h(
    'div',
    // colorScheme dark: the controls the browser draws itself (file picker button, spinners) match OHIF's dark theme.
    { 'data-testid': 'tomosort-panel', style: { padding: '8px', color: '#e0e6ee', fontSize: '13px', lineHeight: 1.4, colorScheme: 'dark' } },
    h('h2', { style: { fontSize: '15px', fontWeight: 700, margin: '0 0 8px' } }, 'Sparse annotation'),
    section(
      'Series',
      'tomosort-series',
      series
        ? h('div', { 'data-testid': 'tomosort-series-line' }, `${series.description} (${series.modality}), ${onScreenWords(series)}`)
        : h('div', null, 'Open a series in the viewer.'),
      voi ? h('div', { 'data-testid': 'tomosort-voi', style: { opacity: 0.85 } }, voi) : null,
    ),
    h(Workbench, { series }),
    section(
      'Compute',
      'tomosort-compute',
      h('div', { role: 'status' }, gpu.state === 'loading' ? 'Checking WebGPU…' : gpu.state === 'ok' ? `WebGPU: ${gpu.value}` : gpu.message),
    ),
  );
}

/** Mounts (or unmounts, when the host removes the div) our island. */
function mount(div: HTMLDivElement | null): void {
  if (div === null) return;
  if (roots.has(div)) return;
  const root = createRoot(div);
  roots.set(div, root);
  root.render(h(Panel));
  const watch = new MutationObserver(() => {
    if (!div.isConnected) {
      watch.disconnect();
      roots.delete(div);
      root.unmount();
    }
  });
  watch.observe(document.body, { childList: true, subtree: true });
}

/** The component the host renders (with only a `key` prop): no hooks, one div. */
export function PanelHost(): ReactElement {
  return h('div', { ref: mount, style: { height: '100%', overflow: 'auto' } });
}
