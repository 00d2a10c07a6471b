import type { OhifServices } from './ohif';
import type { SliceLabels } from './worker/protocol';
import { AnnotationError } from './errors';
import type { SegmentLike } from './labels';
import { drawnPlanes, forEachVoxel, inStack, parsePlaneKey, planeKey, planeValues } from './planes';
import type { LabelStack, PlaneRef } from './planes';

/**
 * Glue to OHIF's segmentation service and cornerstone's image cache (OHIF 3.13): a labelmap
 * segmentation is one derived label image per source image (`imageIds[i]` labels
 * `referencedImageIds[i]`), written through each image's voxelManager.
 */
export interface VoxelManagerLike {
  getScalarData(): ArrayLike<number>;
  setAtIndex(index: number, value: number): void;
}
export interface CachedImage {
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

/** A labelmap as plain arrays (one label image per acquired slice, stack order), with its SOP instances and writers. */
export interface LabelmapGrid {
  readonly stack: LabelStack;
  /** SOP instance of each slice (stack order), and the source image each label image labels. */
  readonly sops: readonly string[];
  readonly sourceImageIds: readonly string[];
  readonly voxelManagers: readonly (VoxelManagerLike | undefined)[];
}

/** Reads the labelmap's label images (those in cornerstone's cache; others read as undefined). */
export function readLabelmap(services: SegServices, cs: CornerstoneLibraries, segmentationId: string): LabelmapGrid {
  const lm = labelmap(services, segmentationId);
  let columns = 0;
  let rows = 0;
  const voxelManagers = lm.imageIds.map((id) => {
    const image = cs.cornerstone.cache.getImage(id);
    if (image && columns === 0) [columns, rows] = [image.columns, image.rows];
    return image?.voxelManager;
  });
  return {
    stack: { columns, rows, slices: voxelManagers.map((vm) => vm?.getScalarData()) },
    sops: lm.referencedImageIds.map((id) => sopOfImageId(id) ?? id),
    sourceImageIds: lm.referencedImageIds,
    voxelManagers,
  };
}

/** One plane of the annotated set: where it lies, its label values (see `planeValues`) and labelled voxel count. */
export interface AnnotatedPlane extends PlaneRef {
  readonly key: string;
  readonly labels: Uint8Array;
  readonly voxels: number;
  readonly done: boolean;
}

/** How messages name a plane of the labelmap grid when the caller gives no anatomical name. */
export const planeWords = (p: PlaneRef, names?: readonly [string, string, string]): string =>
  p.axis === 2 ? `slice ${p.index + 1}` : `${names?.[p.axis] ?? (p.axis === 1 ? 'row' : 'column')} plane ${p.index + 1}`;

function notLoaded(p: PlaneRef, segmentationId: string, names?: readonly [string, string, string]): AnnotationError {
  return new AnnotationError(`${planeWords(p, names)} is not loaded yet: ${p.axis === 2 ? 'scroll to it first' : 'wait until the whole series is loaded'}`, { segmentationId, slice: p.index + 1, plane: planeKey(p) });
}

/**
 * The sparse annotated set: every plane drawn on (in any orientation: `drawnPlanes`), and every
 * plane in `done` (keys, marked done by the user; it may hold background only). This set is what
 * training and export use. Acquired slices first, in stack order.
 */
export function annotatedPlanes(
  services: SegServices,
  cs: CornerstoneLibraries,
  segmentationId: string,
  done: ReadonlySet<string> = new Set(),
  names?: readonly [string, string, string],
): { readonly planes: AnnotatedPlane[]; readonly grid: LabelmapGrid } {
  const grid = readLabelmap(services, cs, segmentationId);
  const drawn = drawnPlanes(grid.stack);
  const keys = new Set(drawn.map(planeKey));
  const marked = [...done].map(parsePlaneKey).filter((p): p is PlaneRef => p !== undefined && !keys.has(planeKey(p)) && (grid.stack.columns === 0 || inStack(grid.stack, p)));
  const planes = [...drawn, ...marked].sort((a, b) => b.axis - a.axis || a.index - b.index);
  const anyMissing = grid.stack.slices.some((x) => x === undefined);
  return {
    grid,
    planes: planes.map((p) => {
      if (p.axis === 2 ? grid.stack.slices[p.index] === undefined : anyMissing) throw notLoaded(p, segmentationId, names);
      const labels = planeValues(grid.stack, p);
      let voxels = 0;
      for (let n = 0; n < labels.length; n++) if (labels[n]) voxels++;
      const key = planeKey(p);
      return { axis: p.axis, index: p.index, key, labels, voxels, done: done.has(key) };
    }),
  };
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
 * Runs `edit` on label images and records it as one step of OHIF's undo history, as its brush
 * strokes are: undo restores the images as they were before, redo as they were after. A host
 * without the history (an older cornerstone) just gets the edit.
 */
function undoable<T>(cs: CornerstoneLibraries, segmentationId: string, vms: readonly VoxelManagerLike[], edit: () => T): T {
  const before = vms.map((vm) => Uint8Array.from(vm.getScalarData()));
  const result = edit();
  const after = vms.map((vm) => Uint8Array.from(vm.getScalarData()));
  cs.cornerstone.utilities?.HistoryMemo?.DefaultHistoryMemo?.push({
    restoreMemo(undo) {
      vms.forEach((vm, n) => overwrite(vm, (undo ? before : after)[n]!));
      cs.cornerstoneTools.segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(segmentationId);
    },
  });
  return result;
}

/** How a cached image's scalar data become modality units (HU for CT): identity when the loader pre-scaled them. */
export function modalityScale(image: CachedImage): { slope: number; intercept: number } {
  return image.preScale?.scaled ? { slope: 1, intercept: 0 } : { slope: image.slope ?? 1, intercept: image.intercept ?? 0 };
}

/** The slices a plane crosses: one for an acquired slice, all of them for a reformatted plane. */
const slicesOfPlane = (p: PlaneRef, depth: number): number[] => (p.axis === 2 ? [p.index] : Array.from({ length: depth }, (_, k) => k));

/**
 * Sets `value` where the source's value (HU for CT) lies in [lo, hi] on one plane (an acquired
 * slice or a reformatted plane) and clears it elsewhere on that plane (other labels stay); one
 * undo step. Returns the voxels set.
 */
export function thresholdPlane(services: SegServices, cs: CornerstoneLibraries, segmentationId: string, plane: PlaneRef, lo: number, hi: number, value: number, names?: readonly [string, string, string]): number {
  const grid = readLabelmap(services, cs, segmentationId);
  const ks = slicesOfPlane(plane, grid.stack.slices.length);
  const parts = ks.map((k) => {
    const source = cs.cornerstone.cache.getImage(grid.sourceImageIds[k] ?? '');
    const raw = source?.voxelManager?.getScalarData();
    const target = grid.voxelManagers[k];
    if (!source || !raw || !target) throw notLoaded(plane, segmentationId, names);
    return { k, raw, target, ...modalityScale(source) };
  });
  const byK = new Map(parts.map((x) => [x.k, x]));
  // Other labels stay: thresholding a second label paints over the first only where it applies.
  const set = undoable(
    cs,
    segmentationId,
    parts.map((x) => x.target),
    () => {
      let count = 0;
      forEachVoxel(grid.stack, plane, (k, n) => {
        const x = byK.get(k)!;
        const v = x.raw[n]! * x.slope + x.intercept;
        if (v >= lo && v <= hi) {
          x.target.setAtIndex(n, value);
          count++;
        } else if (x.target.getScalarData()[n] === value) x.target.setAtIndex(n, 0);
      });
      return count;
    },
  );
  cs.cornerstoneTools.segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(segmentationId);
  return set;
}

/** Clears one plane of a labelmap (removes it from the annotated set); one undo step. */
export function clearPlane(services: SegServices, cs: CornerstoneLibraries, segmentationId: string, plane: PlaneRef): void {
  const grid = readLabelmap(services, cs, segmentationId);
  const ks = slicesOfPlane(plane, grid.stack.slices.length).filter((k) => grid.voxelManagers[k]);
  const vms = new Map(ks.map((k) => [k, grid.voxelManagers[k]!]));
  undoable(cs, segmentationId, [...vms.values()], () =>
    forEachVoxel(grid.stack, plane, (k, n) => {
      const vm = vms.get(k);
      if (vm && vm.getScalarData()[n]) vm.setAtIndex(n, 0);
    }),
  );
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
