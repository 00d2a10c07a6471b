import { describe, expect, it, vi } from 'vitest';
import { AnnotationError, HostError, ModelChoiceError, StepMissingError, isExtensionError } from './errors';
import { activeSegmentIndex, addClass, annotationSignature, classesFromSegments, describeCounts, voxelsPerClass } from './labels';
import { lossPath } from './lossChart';
import { panelMessage } from './panelMessage';
import { describeCompute, describeQuality } from './panelWords';
import { pickedModel, storedFromSummary } from './modelChoices';
import { describeModel } from './ohif';
import { annotatedPlanes, clearPlane, onSegmentationChange, thresholdPlane } from './segmentation';
import type { Memo } from './segmentation';
import type { CornerstoneLibraries, SegServices } from './segmentation';

/** Slice 0 of the acquisition, as a plane. */
const K0 = { axis: 2, index: 0 } as const;

describe('labels', () => {
  const classes = [
    { value: 1, name: 'liver' },
    { value: 3, name: 'spleen' },
  ];
  it('counts voxels per label in the order of the labels, ignoring unknown values', () => {
    expect(voxelsPerClass(Uint8Array.from([0, 1, 1, 3, 2, 3, 1]), classes)).toEqual([3, 2]);
    expect(describeCounts([3, 0], classes)).toBe('liver 3');
    expect(describeCounts([0, 0], classes)).toBe('no label (background only)');
  });
  it('adds a label with the next free value; refuses an empty or taken name', () => {
    expect(addClass(classes, ' kidney ')).toEqual([...classes, { value: 4, name: 'kidney' }]);
    expect(() => addClass(classes, '  ')).toThrow('Give the new label a name');
    expect(() => addClass(classes, 'Liver')).toThrow('There is already a label called "Liver".');
    const taken = (() => {
      try {
        addClass(classes, 'Liver');
      } catch (e) {
        return e;
      }
    })();
    expect(taken).toBeInstanceOf(AnnotationError);
    expect((taken as AnnotationError).context).toEqual({ label: 'Liver' });
  });
});

describe('the loss chart', () => {
  it('maps the min loss to the bottom and the max to the top, steps evenly across', () => {
    expect(lossPath([2, 1, 1.5], 100, 10)).toBe('0.0,0.0 50.0,10.0 100.0,5.0');
    expect(lossPath([Number.NaN, 1, 3], 100, 10)).toBe('50.0,10.0 100.0,0.0');
    expect(lossPath([], 100, 10)).toBe('');
  });
});

describe('a model picked from disk', () => {
  const manifest = { method: 'sorting', inputSize: 64, huWindow: { center: 40, width: 400 }, steps: 12, architecture: { kind: 'score', encoder: { name: 'small' } } };
  it('is described from its model.json manifest and sent to the worker as files', async () => {
    const files = [new File([JSON.stringify({ modelTopology: manifest, weightsManifest: [] })], 'model.json'), new File([new Uint8Array(4)], 'weights.bin')];
    const choice = await pickedModel(files);
    expect(choice.id).toBe('file:2 file(s) from disk');
    expect(describeModel(choice.model)).toBe('2 file(s) from disk: sorting, small, score head, 64², window 40/400, 12 steps');
    expect(choice.ref).toEqual({ kind: 'files', files });
  });
  it('refuses a pick without exactly one model.json, or JSON that is not a tomosort model', async () => {
    await expect(pickedModel([new File([''], 'weights.bin')])).rejects.toThrow('Choose one model.json together with its weights file(s); got 0 .json file(s).');
    await expect(pickedModel([new File(['{"modelTopology": {"class_name": "Sequential"}}'], 'keras.json')])).rejects.toThrow('keras.json is not a tomosort model');
    await expect(pickedModel([new File(['{oops'], 'model.json')])).rejects.toThrow(/^model\.json is not JSON/);
    const notOurs = await pickedModel([new File(['{}'], 'other.json')]).catch((e: unknown) => e);
    expect(notOurs).toBeInstanceOf(ModelChoiceError);
    expect((notOurs as ModelChoiceError).context).toEqual({ file: 'other.json' });
  });
  it('a browser model’s summary reads like a store entry', () => {
    const s = storedFromSummary('mine', { method: 'sorting', kind: 'score', encoder: 'small', inputSize: 32, huWindow: { center: 40, width: 400 }, steps: 3 });
    expect(describeModel(s)).toBe('mine: sorting, small, score head, 32², window 40/400, 3 steps');
  });
});

describe('thresholdPlane with two labels (cornerstone image cache stand-in: plain arrays)', () => {
  // The image cache is cornerstone's; a stand-in with the same getScalarData/setAtIndex surface.
  const source = { rows: 1, columns: 6, voxelManager: { getScalarData: () => [-500, 0, 100, 400, 900, 50], setAtIndex: () => {} }, preScale: { scaled: true } };
  const labels = [0, 0, 0, 0, 0, 0];
  const target = { rows: 1, columns: 6, voxelManager: { getScalarData: () => labels, setAtIndex: (i: number, v: number) => void (labels[i] = v) } };
  const cs = { cornerstone: { cache: { getImage: (id: string) => (id === 'seg' ? target : source) } }, cornerstoneTools: { segmentation: { triggerSegmentationEvents: { triggerSegmentationDataModified: () => {} } } } } as unknown as CornerstoneLibraries;
  const services = { segmentationService: { getSegmentation: () => ({ representationData: { Labelmap: { imageIds: ['seg'], referencedImageIds: ['ct'] } } }) } } as unknown as SegServices;
  it('paints the second label over the first where it applies, and keeps the first elsewhere', () => {
    expect(thresholdPlane(services, cs, 's', K0, -200, 3000, 1)).toBe(5);
    expect(labels).toEqual([0, 1, 1, 1, 1, 1]);
    expect(thresholdPlane(services, cs, 's', K0, 300, 3000, 2)).toBe(2);
    expect(labels).toEqual([0, 1, 1, 2, 2, 1]);
    // Re-thresholding label 2 with a narrower range clears it where it no longer applies.
    expect(thresholdPlane(services, cs, 's', K0, 800, 3000, 2)).toBe(1);
    expect(labels).toEqual([0, 1, 1, 0, 2, 1]);
  });
});

describe('labels follow OHIF’s segment list', () => {
  const current = [
    { value: 1, name: 'structure' },
    { value: 2, name: 'bone' },
  ];
  it('takes segments added, renamed or deleted there, by segment index (0, "no label", is never one)', () => {
    expect(classesFromSegments({ 1: { label: 'structure' }, 2: { label: 'bone' } }, current)).toBeUndefined();
    expect(classesFromSegments({ 2: { label: 'cortical bone' }, 1: { label: 'structure' } }, current)).toEqual([
      { value: 1, name: 'structure' },
      { value: 2, name: 'cortical bone' },
    ]);
    expect(classesFromSegments({ 0: { label: 'x' }, 1: { label: 'structure' }, 3: {} }, current)).toEqual([
      { value: 1, name: 'structure' },
      { value: 3, name: 'Segment 3' },
    ]);
  });
  it('finds the segment OHIF draws with', () => {
    expect(activeSegmentIndex({ 1: { active: false }, 4: { active: true } })).toBe(4);
    expect(activeSegmentIndex({ 1: {} })).toBeUndefined();
  });
});

describe('annotationSignature (when the panel saves the annotation)', () => {
  const classes = [{ value: 1, name: 'liver' }];
  const set = [{ key: 'k:3', done: false, labels: [0, 1, 1, 0] }];
  it('is the same for the same set and changes with any voxel, done mark, slice or label name', () => {
    const s0 = annotationSignature(set, classes);
    expect(annotationSignature([{ key: 'k:3', done: false, labels: [0, 1, 1, 0] }], classes)).toBe(s0);
    expect(annotationSignature([{ key: 'k:3', done: false, labels: [0, 1, 0, 1] }], classes)).not.toBe(s0);
    expect(annotationSignature([{ key: 'k:3', done: true, labels: [0, 1, 1, 0] }], classes)).not.toBe(s0);
    expect(annotationSignature([{ key: 'k:4', done: false, labels: [0, 1, 1, 0] }], classes)).not.toBe(s0);
    expect(annotationSignature([{ key: 'row:3', done: false, labels: [0, 1, 1, 0] }], classes)).not.toBe(s0);
    expect(annotationSignature(set, [{ value: 1, name: 'spleen' }])).not.toBe(s0);
  });
});

describe('our edits are steps of the host’s undo history (stand-in for cornerstone’s DefaultHistoryMemo)', () => {
  const source = { rows: 1, columns: 4, voxelManager: { getScalarData: () => [-500, 100, 400, 900], setAtIndex: () => {} }, preScale: { scaled: true } };
  const labels = [2, 0, 0, 0];
  const target = { rows: 1, columns: 4, voxelManager: { getScalarData: () => labels, setAtIndex: (i: number, v: number) => void (labels[i] = v) } };
  const history: Memo[] = [];
  let modified = 0;
  const cs = {
    cornerstone: { cache: { getImage: (id: string) => (id === 'seg' ? target : source) }, utilities: { HistoryMemo: { DefaultHistoryMemo: { push: (m: Memo) => history.push(m) } } } },
    cornerstoneTools: { segmentation: { triggerSegmentationEvents: { triggerSegmentationDataModified: () => void modified++ } } },
  } as unknown as CornerstoneLibraries;
  const services = { segmentationService: { getSegmentation: () => ({ representationData: { Labelmap: { imageIds: ['seg'], referencedImageIds: ['ct'] } } }) } } as unknown as SegServices;
  it('a threshold and a slice clear each push one memo whose undo restores the slice before and redo the slice after', () => {
    thresholdPlane(services, cs, 's', K0, 0, 3000, 1);
    expect(labels).toEqual([2, 1, 1, 1]);
    clearPlane(services, cs, 's', K0);
    expect(labels).toEqual([0, 0, 0, 0]);
    expect(history).toHaveLength(2);
    const before = modified;
    history[1]!.restoreMemo(true);
    expect(labels).toEqual([2, 1, 1, 1]);
    history[0]!.restoreMemo(true);
    expect(labels).toEqual([2, 0, 0, 0]);
    history[0]!.restoreMemo(false);
    expect(labels).toEqual([2, 1, 1, 1]);
    // Each restore tells the viewport (and our panel's poll) that the labelmap changed.
    expect(modified - before).toBe(3);
  });
});

describe('annotatedPlanes: the set training and export use', () => {
  // Three labelmap slices of 3 columns × 2 rows (cornerstone image cache stand-in): 0 labelled, 1 empty, 2 labelled.
  const data: Record<string, number[]> = { l0: [0, 1, 2, 0, 1, 1], l1: [0, 0, 0, 0, 0, 0], l2: [1, 1, 0, 1, 1, 0] };
  const cs = { cornerstone: { cache: { getImage: (id: string) => (data[id] ? { rows: 2, columns: 3, voxelManager: { getScalarData: () => data[id]!, setAtIndex: () => {} } } : undefined) } } } as unknown as CornerstoneLibraries;
  const refs = ['a', 'b', 'c'].map((u) => `wadors:/studies/1/series/2/instances/1.2.${u.charCodeAt(0)}/frames/1`);
  const services = (ids: string[]) => ({ segmentationService: { getSegmentation: () => ({ representationData: { Labelmap: { imageIds: ids, referencedImageIds: refs } } }) } }) as unknown as SegServices;
  it('holds every plane drawn on, plus planes marked done even when empty, acquired slices first in stack order', () => {
    const { planes, grid } = annotatedPlanes(services(['l0', 'l1', 'l2']), cs, 's', new Set(['k:1', 'col:2']));
    expect(planes.map((a) => [a.key, a.voxels, a.done])).toEqual([
      ['k:0', 4, false],
      ['k:1', 0, true],
      ['k:2', 4, false],
      ['col:2', 2, true],
    ]);
    expect(grid.sops).toEqual(['1.2.97', '1.2.98', '1.2.99']);
    expect(annotatedPlanes(services(['l0', 'l1', 'l2']), cs, 's').planes.map((a) => a.key)).toEqual(['k:0', 'k:2']);
  });
  it('a plane marked done whose labelmap is not loaded is an error, not silently dropped', () => {
    expect(() => annotatedPlanes(services(['l0', 'gone', 'l2']), cs, 's', new Set(['k:1']))).toThrow('slice 2 is not loaded yet: scroll to it first');
    expect(() => annotatedPlanes(services(['l0', 'gone', 'l2']), cs, 's', new Set(['row:0']), ['sagittal', 'axial', 'coronal'])).toThrow('axial plane 1 is not loaded yet: wait until the whole series is loaded');
  });
});

describe('a threshold in a reformatted plane (a row of every slice) is one undo step over all the slices it crosses', () => {
  // 2 slices of 2 columns × 2 rows; source values by slice.
  const sources: Record<string, number[]> = { ct0: [100, 900, 100, 900], ct1: [900, 100, 900, 100] };
  const labels: Record<string, number[]> = { seg0: [0, 0, 3, 3], seg1: [0, 0, 0, 0] };
  const image = (id: string) =>
    sources[id]
      ? { rows: 2, columns: 2, voxelManager: { getScalarData: () => sources[id]!, setAtIndex: () => {} }, preScale: { scaled: true } }
      : labels[id]
        ? { rows: 2, columns: 2, voxelManager: { getScalarData: () => labels[id]!, setAtIndex: (i: number, v: number) => void (labels[id]![i] = v) } }
        : undefined;
  const history: Memo[] = [];
  const cs = {
    cornerstone: { cache: { getImage: image }, utilities: { HistoryMemo: { DefaultHistoryMemo: { push: (m: Memo) => history.push(m) } } } },
    cornerstoneTools: { segmentation: { triggerSegmentationEvents: { triggerSegmentationDataModified: () => {} } } },
  } as unknown as CornerstoneLibraries;
  const services = { segmentationService: { getSegmentation: () => ({ representationData: { Labelmap: { imageIds: ['seg0', 'seg1'], referencedImageIds: ['ct0', 'ct1'] } } }) } } as unknown as SegServices;
  it('labels row 0 of both slices where the source is in range, leaves row 1 alone; undo restores both slices', () => {
    expect(thresholdPlane(services, cs, 's', { axis: 1, index: 0 }, 500, 1000, 1)).toBe(2);
    expect(labels).toEqual({ seg0: [0, 1, 3, 3], seg1: [1, 0, 0, 0] });
    clearPlane(services, cs, 's', { axis: 0, index: 1 });
    expect(labels).toEqual({ seg0: [0, 0, 3, 0], seg1: [1, 0, 0, 0] });
    expect(history).toHaveLength(2);
    history[1]!.restoreMemo(true);
    history[0]!.restoreMemo(true);
    expect(labels).toEqual({ seg0: [0, 0, 3, 3], seg1: [0, 0, 0, 0] });
  });
});

describe('the panel shows a failure as one line', () => {
  const cases: [string, ExtensionErrorCase][] = [
    ['a step missing: its message as written', { error: new StepMissingError('finetune', 'Label (or mark done) at least one slice first.'), shown: 'Label (or mark done) at least one slice first.' }],
    ['the host lacking a piece, message on two lines: joined on the first', { error: new HostError('IndexedDB', 'this browser offers no IndexedDB\n  to keep the model in'), shown: 'this browser offers no IndexedDB' }],
    ['an annotation problem, whitespace collapsed', { error: new AnnotationError('slice 7  is not loaded yet: scroll to it first', { slice: 7 }), shown: 'slice 7 is not loaded yet: scroll to it first' }],
  ];
  it.each(cases)('%s', (_, { error, shown }) => {
    const log = vi.fn();
    expect(isExtensionError(error)).toBe(true);
    expect(panelMessage(error, log)).toBe(shown);
    expect(log).not.toHaveBeenCalled();
  });

  it('a bug (TypeError with a stack) → "Unexpected error…" with its first line; the whole error goes to the console, not the panel', () => {
    const bug = new TypeError('services.displaySetService is undefined\nsecond line');
    const log = vi.fn();
    const shown = panelMessage(bug, log);
    expect(shown).toBe('Unexpected error in the tomosort panel: services.displaySetService is undefined (details in the browser console).');
    expect(shown).not.toContain('\n');
    expect(shown).not.toMatch(/\bat \S+ \(/);
    expect(log).toHaveBeenCalledWith(bug);
  });

  it('a thrown non-Error value is shown as text', () => {
    expect(panelMessage('boom', () => {})).toBe('Unexpected error in the tomosort panel: boom (details in the browser console).');
  });
});

interface ExtensionErrorCase {
  readonly error: Error;
  readonly shown: string;
}

describe('onSegmentationChange (cornerstone eventTarget stand-in: a real EventTarget)', () => {
  const libs = (events?: Record<string, string>, target: EventTarget | undefined = new EventTarget()) =>
    ({ cornerstone: { cache: { getImage: () => undefined }, eventTarget: target }, cornerstoneTools: { segmentation: { triggerSegmentationEvents: { triggerSegmentationDataModified() {} } }, Enums: { Events: events } } }) as unknown as CornerstoneLibraries;
  const EVENTS = { SEGMENTATION_DATA_MODIFIED: 'CORNERSTONE_TOOLS_SEGMENTATION_DATA_MODIFIED', SEGMENTATION_MODIFIED: 'CORNERSTONE_TOOLS_SEGMENTATION_MODIFIED' };

  it('hears voxel and segment changes until unsubscribed', () => {
    const target = new EventTarget();
    const heard = vi.fn();
    const off = onSegmentationChange(libs(EVENTS, target), heard)!;
    target.dispatchEvent(new Event(EVENTS.SEGMENTATION_DATA_MODIFIED));
    target.dispatchEvent(new Event(EVENTS.SEGMENTATION_MODIFIED));
    target.dispatchEvent(new Event('CORNERSTONE_CAMERA_MODIFIED'));
    expect(heard).toHaveBeenCalledTimes(2);
    off();
    target.dispatchEvent(new Event(EVENTS.SEGMENTATION_DATA_MODIFIED));
    expect(heard).toHaveBeenCalledTimes(2);
  });

  it('says there is nothing to hear on a cornerstone without the events (the panel then polls)', () => {
    expect(onSegmentationChange(libs(undefined), () => {})).toBeUndefined();
    expect(onSegmentationChange(libs(EVENTS, null as unknown as undefined), () => {})).toBeUndefined();
  });
});

describe('the quality estimate in words', () => {
  const est = (planes: number, dice: [number, number, number]) => ({ folds: planes, planes, perClass: [{ name: 'head', mean: dice[0], min: dice[1], max: dice[2] }] });
  it('names the folds, the grid and the cost, then how contour interpolation of the same folds compares, and who is ahead', () => {
    expect(describeQuality({ kind: 'estimated', ...est(3, [0.9, 0.8, 0.95]), interpolation: { kind: 'estimated', ...est(3, [0.6, 0, 0.97]) } }, 128, 12.34)).toBe(
      "Quality estimate, Dice on held-out annotated planes (leave-one-out over the 3 annotated planes, at the model's 128² input; 12.3 s): head 0.90 (0.80–0.95). " +
        "Contour interpolation (OHIF's) of the same folds, at full resolution, filling only between annotated slices: head 0.60 (0.00–0.97). The model is ahead by 0.30 mean Dice.",
    );
    expect(describeQuality({ kind: 'estimated', ...est(4, [0.5, 0.4, 0.6]), interpolation: { kind: 'estimated', ...est(2, [0.7, 0.6, 0.8]) } }, 64, 1)).toContain(
      "of the 2 acquired slices alone, at full resolution, filling only between annotated slices: head 0.70 (0.60–0.80). Interpolation is ahead by 0.20 mean Dice: OHIF's own interpolation does as well here, or annotate more slices.",
    );
    expect(describeQuality({ kind: 'estimated', ...est(2, [0.5, 0.4, 0.6]), interpolation: { kind: 'skipped', reason: 'few-slices' } }, 64, 1)).toMatch(/\(0\.40–0\.60\)\. No comparison with contour interpolation: it runs along the acquisition, and needs at least 2 annotated acquired slices\.$/);
    expect(describeQuality({ kind: 'skipped', reason: 'one-plane' }, 64, 0)).toBe('No quality estimate: it needs at least 2 annotated planes (one to train on, one to check).');
  });
});

describe('the fine-tuning’s compute in words', () => {
  it('gives ms and GFLOP/s of a full step, and on WebGPU the dispatches, readbacks and peak GPU memory', () => {
    expect(describeCompute({ backend: 'wasm (SIMD, 1 thread)', msPerStep: 250, gflopPerStep: 0.5 })).toBe('Compute: wasm (SIMD, 1 thread), 250 ms a full step (2.00 GFLOP/s).');
    expect(describeCompute({ backend: 'webgpu (NVIDIA H200)', msPerStep: 40, gflopPerStep: 8, webgpu: { dispatchesPerStep: 607.4, readbacksPerStep: 0.25, peakGpuBytes: 22e6 } })).toBe(
      'Compute: webgpu (NVIDIA H200), 40 ms a full step (200 GFLOP/s); 607 GPU dispatches and 0.25 readbacks a step, peak GPU memory 22 MB.',
    );
    expect(describeCompute({ backend: 'cpu', msPerStep: null, gflopPerStep: 1 })).toBe('Compute: cpu, no full step ran.');
  });
});
