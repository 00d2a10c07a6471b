import { createElement as h, useEffect, useReducer, useRef, useState } from 'react';
import type { ReactElement } from 'react';
import { createRoot } from 'react-dom/client';
import type { Root } from 'react-dom/client';
import { ModelChoiceError, StepMissingError } from './errors';
import { cornerstone, hostServices, segServices } from './host';
import { useActiveSeries, useErrorLine, useSensibleVoi, useWebGpu, useWorker } from './panelHooks';
import { onScreenWords } from './panelWords';
import { addClass } from './labels';
import type { SavedAnnotation } from './annotationStore';
import { section } from './controls';
import { IDLE, isStale, jobReducer } from './jobState';
import type { JobSection, PanelJob } from './jobState';
import { pickedModel, rememberBrowserModel, useModelChoices } from './modelChoices';
import type { ModelChoice } from './modelChoices';
import { otherSeriesViewports, showPlane } from './ohif';
import type { ActiveSeries } from './ohif';
import { panelMessage } from './panelMessage';
import { AnnotationSection, ComputeChoice, JobProgress, LabelsSection, LocalizeSection, ModelSection, StartSection, TrainSection } from './panelSections';
import type { JobView, Predicted } from './panelSections';
import { useAnnotatedSet, useKeptAnnotation } from './annotationHooks';
import { exportSlices, hasLabel, parsePlaneKey, planeKey, trainingPayload } from './planes';
import { DEFAULT_QUALITY_FOLDS } from './worker/protocol';
import { onPanelAction } from './commands';
import type { PanelAction } from './commands';
import type { PlaneRef } from './planes';
import { addLabel, annotatedPlanes, clearPlane, createSegmentation, planeWords, sopOfImageId, stackIndexBySop, thresholdPlane, writeSlices } from './segmentation';
import type { JobClass, JobMessage, ModelRef, SliceLabels, SliceMatch } from './worker/protocol';

/**
 * The panel runs as an island: the host's React (18.3.1, not exposed) renders a plain <div>
 * created with our own React copy (elements are plain objects, so that is compatible); a ref
 * callback mounts our own root into it. Hooks are only used inside the island, where our React
 * renders: hooks from our copy inside the host's tree would crash the route.
 */

const roots = new WeakMap<HTMLElement, Root>();


/**
 * Everything the panel does on the open series: labels and the sparse annotated set, the model
 * to start from (store, this browser, a file, or pre-trained here), fine-tune + predict + review,
 * export, and the score head's order check and position. One worker runs one job at a time; what
 * the panel knows of its jobs is one reducer over the worker's messages (jobState.ts).
 */
function Workbench({ series }: { series: ActiveSeries | undefined }): ReactElement {
  const [classes, setClasses] = useState<JobClass[]>([{ value: 1, name: 'structure' }]);
  const [activeClass, setActiveClass] = useState(1);
  const [choiceId, setChoiceId] = useState('');
  const [picked, setPicked] = useState<ModelChoice | undefined>(undefined);
  const listed = useModelChoices(picked);
  const choices = listed.state === 'loading' ? [] : listed.choices;
  const choice = choices.find((c) => c.id === choiceId);
  const [segmentationId, setSegmentationId] = useState<string | undefined>(undefined);
  const segmentationIdRef = useRef(segmentationId);
  segmentationIdRef.current = segmentationId;
  const [predictionId, setPredictionId] = useState<string | undefined>(undefined);
  // Plane keys (see planes.ts) marked done: acquired slices "k:<stack index>", reformatted planes "row:…" / "col:…".
  const [done, setDone] = useState<ReadonlySet<string>>(new Set());
  const [range, setRange] = useState<[number, number]>([-200, 3000]);
  const [steps, setSteps] = useState<[number, number]>([10, 20]);
  const [qualityFolds, setQualityFolds] = useState(DEFAULT_QUALITY_FOLDS);
  // 128²: on the sample head CT, Dice 0.957 against its head mask vs 0.919 at 64², 24 s of training on one wasm thread (docs/bench/viewer-*.txt).
  const [size, setSize] = useState(128);
  const [pretrainSteps, setPretrainSteps] = useState(200);
  // Its own size: pre-training and fine-tuning sizes are separate choices (a pre-trained model then fixes the fine-tuning size).
  const [pretrainSize, setPretrainSize] = useState(64);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [error, setError] = useErrorLine();
  const [jobs, dispatch] = useReducer(jobReducer, IDLE);
  const [predicted, setPredicted] = useState<Predicted[]>([]);
  // Predictions start as proposed: only those the radiologist accepts are exported.
  const [accepted, setAccepted] = useState<ReadonlySet<string>>(new Set());
  // The latest predictions, for the worker's message handler (a new run clears what the last one drew).
  const predictedRef = useRef(predicted);
  predictedRef.current = predicted;
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
  // The worker's messages go to the reducer; those with an effect on the viewer have it here.
  // Job ids: the reducer and the effects below act on the messages of the job posted last only.
  const lastJobId = useRef<number | undefined>(undefined);
  const worker = useWorker((m) => {
    dispatch(m);
    if (isStale(lastJobId.current, m)) return;
    if (m.type === 'error') setError(m.message);
    if (m.type === 'predicted') {
      setAccepted(new Set());
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
    }
    if (m.type === 'matched' && syncTarget.current) {
      setSync({ ...syncTarget.current, bySop: new Map(m.matches.map((x) => [x.sopInstanceUID, x])) });
      dispatch({ type: 'finished', message: `Matched ${m.matches.length} slice(s) to ${syncTarget.current.description} (reference ρ = ${m.referenceRho.toFixed(2)}): it now follows this viewport.` });
    }
    if (m.type === 'segLoaded') {
      attempt(async () => {
        if (!series || segmentationIdRef.current) return;
        // A frame with no voxel says "annotated, nothing here": that slice stays in the set, marked done.
        const written = await adoptAnnotation(series, { classes: m.classes, slices: m.slices, doneSops: m.slices.filter((x) => !hasLabel(x.labels)).map((x) => x.sopInstanceUID) });
        dispatch({ type: 'segAdopted', message: `Loaded SEG series ${m.segSeriesInstanceUID} as the annotation: ${written} slice(s) of labels (${m.classes.map((c) => c.name).join(', ')}).` });
      });
    }
  });
  /** Posts a job to the worker from a section (its progress shows there). */
  const post = (section: JobSection, job: JobMessage & { type: PanelJob }) => {
    const id = (lastJobId.current ?? 0) + 1;
    lastJobId.current = id;
    dispatch({ type: 'posted', id, section, job: job.type });
    worker.post({ ...job, id });
  };
  // What this browser kept for the open series (offered for restoring until a segmentation exists), and the annotated set read from the labelmap.
  const [saved, setSaved] = useKeptAnnotation(series?.seriesInstanceUID);
  const annotated = useAnnotatedSet({ segmentationId, done, classes, activeClass, series, onClasses: setClasses, onActiveClass: setActiveClass, onSaved: setSaved, onError: setError });
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
  const busy = jobs.training.state === 'running';
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
  const uids = { studyInstanceUID: series.studyInstanceUID, seriesInstanceUID: series.seriesInstanceUID };
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
        post('train', {
          type: 'finetune',
          job: {
            ...uids,
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
        post('train', { type: 'export', job: { ...uids, slices: exportSlices(grid.stack, grid.sops, planes, chosen), classes } });
      }),
    checkOrder: () =>
      attempt(() => {
        notBusy();
        post('localize', { type: 'score', job: { ...uids, model: scoreModel(choice) } });
      }),
    sync: () =>
      attempt(() => {
        notBusy();
        const other = otherSeriesViewports(hostServices()!, series)[0];
        if (!other) throw new StepMissingError('sync', 'Show a second series in another viewport first (change the layout to 1×2, then drag a series into the new viewport).');
        const model = scoreModel(choice);
        syncTarget.current = { viewportId: other.viewportId, description: `${other.description} (${other.modality})` };
        setSync(undefined);
        post('localize', { type: 'match', job: { ...uids, referenceStudyInstanceUID: other.studyInstanceUID, referenceSeriesInstanceUID: other.seriesInstanceUID, model } });
      }),
    cancel: () => worker.post({ type: 'cancel', ...(lastJobId.current === undefined ? {} : { id: lastJobId.current }) }),
  };
  actionsRef.current = actions;
  const job: JobView = { training: jobs.training, section: jobs.section, onCancel: actions.cancel };

  const restore = (a: SavedAnnotation) =>
    attempt(async () => {
      const written = await adoptAnnotation(series, { classes: a.classes, slices: a.slices, doneSops: a.done, ...(a.doneReformats ? { doneKeys: a.doneReformats } : {}) });
      setMessage(`Restored the annotation kept in this browser (saved ${new Date(a.savedAt).toLocaleString()}): ${written} of its ${a.slices.length} label image(s) written.`);
    });
  const annotation = !segmentationId
    ? h(StartSection, {
        saved,
        storedSegs: jobs.storedSegs,
        busy,
        job,
        onNew: () => attempt(async () => setSegmentationId(await createSegmentation(segServices(), series.displaySetInstanceUID, series.viewportId, 'tomosort sparse annotation', classes))),
        onRestore: restore,
        onListSegs: () => attempt(() => post('annotation', { type: 'listSegs', job: uids })),
        onLoadSeg: (segSeriesInstanceUID) => attempt(() => post('annotation', { type: 'loadSeg', job: { ...uids, segSeriesInstanceUID } })),
      })
    : h(AnnotationSection, {
        modality: series.modality,
        range,
        onRange: setRange,
        onScreen,
        doneOnScreen: onScreen !== undefined && done.has(planeKey(onScreen)),
        activeName: classes.find((c) => c.value === activeClass)?.name ?? '?',
        classes,
        annotated,
        describe,
        onThreshold: actions.threshold,
        onMarkDone: actions.markDone,
        onGo: jump,
        job,
        onRemove: (a) =>
          attempt(() => {
            clearPlane(segServices(), cornerstone(), segmentationId, a);
            const next = new Set(done);
            next.delete(a.key);
            setDone(next);
          }),
      });

  return h(
    'div',
    null,
    section(
      'Labels',
      'tomosort-labels-section',
      h(LabelsSection, {
        classes,
        activeClass,
        busy,
        onActive: (v) =>
          attempt(() => {
            setActiveClass(v);
            // Brush and eraser draw OHIF's active segment: keep it the panel's label.
            if (segmentationId) segServices().segmentationService.setActiveSegment(segmentationId, v);
          }),
        onAdd: (name) =>
          attempt(() => {
            const next = addClass(classes, name);
            const added = next.at(-1)!;
            if (segmentationId) addLabel(segServices(), segmentationId, added.value, added.name);
            setClasses(next);
            setActiveClass(added.value);
          }),
      }),
    ),
    section('Sparse annotation', 'tomosort-annotation-section', annotation),
    section(
      'Model',
      'tomosort-models',
      h(ModelSection, {
        choiceId,
        choices,
        choice,
        listError: listed.state === 'error' ? listed.message : undefined,
        size,
        onSize: setSize,
        pretrainSteps,
        onPretrainSteps: setPretrainSteps,
        pretrainSize,
        onPretrainSize: setPretrainSize,
        busy,
        job,
        onChoose: setChoiceId,
        onFiles: (files) =>
          attempt(async () => {
            if (files.length === 0) return;
            const c = await pickedModel(files);
            setPicked(c);
            setChoiceId(c.id);
          }),
        onPretrain: () =>
          attempt(() =>
            post('model', {
              type: 'pretrain',
              job: { ...uids, size: pretrainSize, window: { center: 40, width: 400 }, steps: pretrainSteps, slicesPerVolume: 8, volumesPerBatch: 2, learningRate: 3e-3, seed: 1 },
            }),
          ),
      }),
    ),
    section(
      'Fine-tune, predict, review, export',
      'tomosort-train-section',
      segmentationId
        ? h(TrainSection, {
            steps,
            onSteps: setSteps,
            qualityFolds,
            onQualityFolds: setQualityFolds,
            canRun: !busy && annotated.length > 0,
            intensity: jobs.intensity,
            quality: jobs.quality,
            compute: jobs.compute,
            predicted: predictionId ? predicted : [],
            accepted,
            here,
            exported: jobs.exported,
            job,
            onAccepted: setAccepted,
            onAcceptAll: actions.acceptAll,
            onGoPredicted: (x) => jump({ axis: 2, index: x.index, sopInstanceUID: x.sopInstanceUID }),
            onFineTune: actions.fineTune,
            onExport: actions.export,
          })
        : h('div', null, 'Start a sparse segmentation first.'),
    ),
    section(
      'Localize',
      'tomosort-localize-section',
      h(LocalizeSection, {
        busy,
        job,
        scored: jobs.scored,
        synced: sync && target ? { description: sync.description, match: target, index: targetIndex, count: targetIds.length } : undefined,
        onSlice: series.currentSlice >= 0,
        here,
        onCheckOrder: actions.checkOrder,
        onSync: actions.sync,
      }),
    ),
    h(ComputeChoice, { compute: worker.compute, busy, onCompute: worker.setCompute }),
    h('div', { 'data-testid': 'tomosort-worker', role: 'status' }, worker.error ?? (worker.backend ? `Training runs in a worker on ${worker.backend}.` : 'Starting the training worker…')),
    // A job started by a hotkey with no section of its own (none today) would still show here.
    jobs.section === undefined ? h(JobProgress, { training: jobs.training, onCancel: actions.cancel }) : null,
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
