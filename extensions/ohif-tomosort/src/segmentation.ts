import type { OhifServices } from './ohif';
import type { SliceLabels } from './worker/protocol';
import { AnnotationError } from './errors';
import type { SegmentLike } from './labels';

/**
 * Glue to OHIF's segmentation service and cornerstone's image cache (OHIF 3.13): a labelmap
 * segmentation is one derived label image per source image (`imageIds[i]` labels
 * `referencedImageIds[i]`), written through each image's voxelManager.
 */
export interface VoxelManagerLike {
  getScalarData(): ArrayLike<number>;
  setAtIndex(index: number, value: number): void;
}
interface CachedImage {
  readonly rows: number;
  readonly columns: number;
  readonly voxelManager?: VoxelManagerLike;
  readonly slope?: number;
  readonly intercept?: number;
  readonly preScale?: { readonly scaled?: boolean };
}
/** One step of an undo history: `restoreMemo(true)` undoes it, `restoreMemo(false)` redoes it. */
export interface Memo {
  restoreMemo(undo: boolean): void;
}
export interface CornerstoneLibraries {
  readonly cornerstone: {
    readonly cache: { getImage(imageId: string): CachedImage | undefined };
    /** cornerstone's undo history, which OHIF's undo / redo (toolbar, Ctrl+Z / Ctrl+Y) and its brush use. */
    readonly utilities?: { readonly HistoryMemo?: { readonly DefaultHistoryMemo?: { push(memo: Memo): unknown } } };
    /** Where cornerstone announces changes (brush strokes, segments added): its `eventTarget`. */
    readonly eventTarget?: { addEventListener(type: string, listener: () => void): void; removeEventListener(type: string, listener: () => void): void };
  };
  readonly cornerstoneTools: {
    readonly segmentation: { readonly triggerSegmentationEvents: { triggerSegmentationDataModified(segmentationId: string): void } };
    readonly Enums?: { readonly Events?: { readonly SEGMENTATION_DATA_MODIFIED?: string; readonly SEGMENTATION_MODIFIED?: string } };
  };
}

/**
 * Calls `listener` whenever a labelmap's voxels or a segmentation's segments change (any tool:
 * OHIF's brush, eraser, threshold, its segment list, undo, ours). Returns the unsubscribe, or
 * undefined where this cornerstone has no such events (the caller then polls).
 */
export function onSegmentationChange(cs: CornerstoneLibraries, listener: () => void): (() => void) | undefined {
  const target = cs.cornerstone.eventTarget;
  const events = cs.cornerstoneTools.Enums?.Events;
  const types = [events?.SEGMENTATION_DATA_MODIFIED, events?.SEGMENTATION_MODIFIED].filter((t): t is string => typeof t === 'string');
  if (!target || types.length === 0) return undefined;
  for (const t of types) target.addEventListener(t, listener);
  return () => {
    for (const t of types) target.removeEventListener(t, listener);
  };
}
export interface SegmentationServiceLike {
  createLabelmapForDisplaySet(displaySet: unknown, options: { segmentationId?: string; label: string; segments: Record<number, { label: string; active?: boolean }> }): Promise<string>;
  addSegmentationRepresentation(viewportId: string, options: { segmentationId: string }): Promise<void>;
  addSegment(segmentationId: string, config: { segmentIndex: number; label: string }): void;
  setActiveSegment(segmentationId: string, segmentIndex: number): void;
  getSegmentation(segmentationId: string): { readonly representationData: { readonly Labelmap?: { readonly imageIds: readonly string[]; readonly referencedImageIds: readonly string[] } }; readonly segments?: Readonly<Record<number, SegmentLike | undefined>> } | undefined;
}
export type SegServices = OhifServices & { readonly segmentationService: SegmentationServiceLike };

/** The SOP Instance UID inside a WADO-RS image id (…/instances/<uid>/frames/1). */
export function sopOfImageId(imageId: string): string | undefined {
  return /\/instances\/([0-9.]+)/.exec(imageId)?.[1];
}

function labelmap(services: SegServices, segmentationId: string): { imageIds: readonly string[]; referencedImageIds: readonly string[] } {
  const lm = services.segmentationService.getSegmentation(segmentationId)?.representationData.Labelmap;
  if (!lm) throw new AnnotationError(`segmentation ${segmentationId} is not a labelmap (or was removed)`, { segmentationId });
  return lm;
}

/** Creates a labelmap for a display set, one segment per class, shown in the viewport. */
export async function createSegmentation(
  services: SegServices,
  displaySetInstanceUID: string,
  viewportId: string,
  label: string,
  classes: readonly { value: number; name: string }[],
): Promise<string> {
  const ds = services.displaySetService.getDisplaySetByUID(displaySetInstanceUID);
  if (!ds) throw new AnnotationError('the series is no longer loaded');
  const segments = Object.fromEntries(classes.map((c, n) => [c.value, { label: c.name, active: n === 0 }]));
  const id = await services.segmentationService.createLabelmapForDisplaySet(ds, { label, segments });
  await services.segmentationService.addSegmentationRepresentation(viewportId, { segmentationId: id });
  return id;
}

/** One slice of a labelmap: its stack index, SOP instance, values and labelled voxel count. */
export type LabelmapSlice = SliceLabels & { readonly index: number; readonly voxels: number };

function readSlice(lm: { imageIds: readonly string[]; referencedImageIds: readonly string[] }, cs: CornerstoneLibraries, index: number): LabelmapSlice | undefined {
  const data = cs.cornerstone.cache.getImage(lm.imageIds[index] ?? '')?.voxelManager?.getScalarData();
  const sop = sopOfImageId(lm.referencedImageIds[index] ?? '');
  if (!data || !sop) return undefined;
  let voxels = 0;
  for (let n = 0; n < data.length; n++) if (data[n]) voxels++;
  return { index, sopInstanceUID: sop, labels: Uint8Array.from(data), voxels };
}

/**
 * The sparse annotated set, in stack order: every slice holding a label, and every slice in `done`
 * (marked done by the user; it may hold background only). This set is what training and export use.
 */
export function annotatedSlices(services: SegServices, cs: CornerstoneLibraries, segmentationId: string, done: ReadonlySet<number> = new Set()): (LabelmapSlice & { readonly done: boolean })[] {
  const lm = labelmap(services, segmentationId);
  const out: (LabelmapSlice & { done: boolean })[] = [];
  lm.imageIds.forEach((_, index) => {
    const slice = readSlice(lm, cs, index);
    if (slice && (slice.voxels > 0 || done.has(index))) out.push({ ...slice, done: done.has(index) });
    else if (!slice && done.has(index)) throw new AnnotationError(`slice ${index + 1} is not loaded yet: scroll to it first`, { segmentationId, slice: index + 1 });
  });
  return out;
}

/** Adds a label (segment) to the labelmap and makes it the one brush and threshold draw. */
export function addLabel(services: SegServices, segmentationId: string, value: number, name: string, recheckMs: readonly number[] = LABEL_RECHECK_MS): void {
  const add = () => {
    services.segmentationService.addSegment(segmentationId, { segmentIndex: value, label: name });
    services.segmentationService.setActiveSegment(segmentationId, value);
  };
  add();
  // OHIF 3.13 writes a segmentation's segments back from a copy taken before a pending update
  // (an edit just before, e.g. a threshold, has its statistics computed asynchronously), which can
  // drop a segment added meanwhile: the brush would then draw nothing. Put it back if it went.
  for (const ms of recheckMs) {
    setTimeout(() => {
      const segments = services.segmentationService.getSegmentation(segmentationId)?.segments;
      if (segments && !segments[value]) add();
    }, ms);
  }
}

/** When {@link addLabel} checks that the new segment is still there. */
const LABEL_RECHECK_MS = [500, 1500, 4000];

/** Writes whole slices (by SOP instance) into a labelmap; returns how many were written. */
export function writeSlices(services: SegServices, cs: CornerstoneLibraries, segmentationId: string, slices: readonly SliceLabels[]): number {
  const { imageIds, referencedImageIds } = labelmap(services, segmentationId);
  const bySop = new Map(referencedImageIds.map((id, i) => [sopOfImageId(id), i]));
  let written = 0;
  for (const s of slices) {
    const i = bySop.get(s.sopInstanceUID);
    const vm = i === undefined ? undefined : cs.cornerstone.cache.getImage(imageIds[i]!)?.voxelManager;
    if (!vm) continue;
    overwrite(vm, s.labels);
    written++;
  }
  cs.cornerstoneTools.segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(segmentationId);
  return written;
}

/** Writes `values` into a label image, voxel by voxel where they differ. */
function overwrite(vm: VoxelManagerLike, values: Uint8Array): void {
  const current = vm.getScalarData();
  for (let n = 0; n < values.length; n++) if (current[n] !== values[n]) vm.setAtIndex(n, values[n]!);
}

/**
 * Runs `edit` on one label image and records it as one step of OHIF's undo history, as its brush
 * strokes are: undo restores the slice as it was before, redo as it was after. A host without the
 * history (an older cornerstone) just gets the edit.
 */
function undoable<T>(cs: CornerstoneLibraries, segmentationId: string, vm: VoxelManagerLike, edit: () => T): T {
  const before = Uint8Array.from(vm.getScalarData());
  const result = edit();
  const after = Uint8Array.from(vm.getScalarData());
  cs.cornerstone.utilities?.HistoryMemo?.DefaultHistoryMemo?.push({
    restoreMemo(undo) {
      overwrite(vm, undo ? before : after);
      cs.cornerstoneTools.segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(segmentationId);
    },
  });
  return result;
}

/** Sets `value` where the source slice's value (HU for CT) lies in [lo, hi] and clears it elsewhere (other labels stay); one undo step. Returns the voxels set. */
export function thresholdSlice(services: SegServices, cs: CornerstoneLibraries, segmentationId: string, index: number, lo: number, hi: number, value: number): number {
  const { imageIds, referencedImageIds } = labelmap(services, segmentationId);
  const source = cs.cornerstone.cache.getImage(referencedImageIds[index] ?? '');
  const target = cs.cornerstone.cache.getImage(imageIds[index] ?? '')?.voxelManager;
  const raw = source?.voxelManager?.getScalarData();
  if (!source || !raw || !target) throw new AnnotationError(`slice ${index + 1} is not loaded yet: scroll to it first`, { segmentationId, slice: index + 1 });
  // Scalar data are already in modality units when the loader pre-scaled them.
  const slope = source.preScale?.scaled ? 1 : (source.slope ?? 1);
  const intercept = source.preScale?.scaled ? 0 : (source.intercept ?? 0);
  // Other labels stay: thresholding a second label paints over the first only where it applies.
  const set = undoable(cs, segmentationId, target, () => {
    const current = target.getScalarData();
    let count = 0;
    for (let n = 0; n < raw.length; n++) {
      const v = raw[n]! * slope + intercept;
      if (v >= lo && v <= hi) {
        target.setAtIndex(n, value);
        count++;
      } else if (current[n] === value) target.setAtIndex(n, 0);
    }
    return count;
  });
  cs.cornerstoneTools.segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(segmentationId);
  return set;
}

/** Clears one slice of a labelmap (removes it from the annotated set); one undo step. */
export function clearSlice(services: SegServices, cs: CornerstoneLibraries, segmentationId: string, index: number): void {
  const { imageIds } = labelmap(services, segmentationId);
  const vm = cs.cornerstone.cache.getImage(imageIds[index] ?? '')?.voxelManager;
  const data = vm?.getScalarData();
  if (!vm || !data) return;
  undoable(cs, segmentationId, vm, () => {
    for (let n = 0; n < data.length; n++) if (data[n]) vm.setAtIndex(n, 0);
  });
  cs.cornerstoneTools.segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(segmentationId);
}

/** Stack index of each SOP instance the labelmap covers. */
export function stackIndexBySop(services: SegServices, segmentationId: string): Map<string, number> {
  const { referencedImageIds } = labelmap(services, segmentationId);
  const out = new Map<string, number>();
  referencedImageIds.forEach((id, i) => {
    const sop = sopOfImageId(id);
    if (sop) out.set(sop, i);
  });
  return out;
}
