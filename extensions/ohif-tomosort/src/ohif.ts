import { AnnotationError } from './errors';
import { planeKey, planeNames } from './planes';
import type { PlaneAxis } from './planes';
import { planeWords, sopOfImageId } from './segmentation';

/**
 * The few OHIF services the extension reads, typed as far as we use them (OHIF 3.13; the host
 * passes the real ones), and the glue that turns them into plain facts for the panel.
 */
export interface DisplaySet {
  readonly displaySetInstanceUID: string;
  readonly StudyInstanceUID?: string;
  readonly SeriesInstanceUID?: string;
  readonly SeriesDescription?: string;
  readonly SeriesNumber?: number | string;
  readonly Modality?: string;
  readonly numImageFrames?: number;
  readonly images?: readonly unknown[];
  /** The first instance's metadata: its orientation names the planes of each voxel axis. */
  readonly instance?: { readonly ImageOrientationPatient?: readonly number[] };
}

export interface StackViewportLike {
  /** cornerstone's viewport type: 'stack', or 'orthographic' for a volume (MPR) viewport. */
  readonly type?: string;
  getImageIds(): string[];
  getCurrentImageIdIndex(): number;
  setImageIdIndex?(index: number): Promise<unknown> | unknown;
  /** Volume viewports: the camera (plane normal and focal point, patient mm)… */
  getCamera?(): { readonly viewPlaneNormal?: readonly number[]; readonly focalPoint?: readonly number[]; readonly position?: readonly number[] };
  setCamera?(camera: { focalPoint: number[]; position: number[] }): void;
  /** … and the volume's grid (direction: the i, j, k axes' cosines, 3 each). */
  getImageData?(): { readonly dimensions: readonly number[]; readonly spacing: readonly number[]; readonly origin: readonly number[]; readonly direction: ArrayLike<number> } | undefined;
  render?(): void;
  /** The display window (cornerstone's VOI range, modality units). */
  getProperties?(): { readonly voiRange?: { readonly lower: number; readonly upper: number } };
  setProperties?(p: { voiRange: { lower: number; upper: number } }): void;
}

export interface OhifServices {
  readonly viewportGridService: {
    getActiveViewportId(): string | undefined;
    getState(): { readonly viewports: ReadonlyMap<string, { readonly displaySetInstanceUIDs?: readonly string[] }> };
  };
  readonly displaySetService: { getDisplaySetByUID(uid: string): DisplaySet | undefined };
  readonly cornerstoneViewportService: { getCornerstoneViewport(viewportId: string): StackViewportLike | null | undefined };
  /** OHIF's toasts: failures show there too, so they are seen with the panel collapsed. */
  readonly uiNotificationService?: { show(n: { title: string; message: string; type: 'error' | 'info' | 'success' | 'warning'; duration?: number }): unknown };
}

export interface ServicesManagerLike {
  readonly services: OhifServices;
}

/** What the panel shows about the series in the active viewport. */
export interface ActiveSeries {
  readonly viewportId: string;
  readonly displaySetInstanceUID: string;
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly description: string;
  readonly modality: string;
  readonly slices: number;
  /** 0-based index of the acquired slice on screen (stack order), or -1 before the viewport is ready or in another orientation. */
  readonly currentSlice: number;
  /** The plane on screen in the series' voxel grid (any orientation), or undefined before the viewport is ready or when it is oblique. */
  readonly plane?: ViewPlane;
  /** Anatomical names of the planes across the columns, rows and slices (from the acquisition's orientation). */
  readonly planeNames: readonly [string, string, string];
}

/**
 * The plane a viewport shows, in the series' voxel grid: `axis` 2 = an acquired slice, 1 = a
 * row of every slice, 0 = a column (a reformat: OHIF's MPR). For axis 2, `sopInstanceUID` names
 * the slice; `index` counts along the viewport's own image list.
 */
export interface ViewPlane {
  readonly axis: PlaneAxis;
  readonly index: number;
  readonly count: number;
  readonly sopInstanceUID?: string;
}

/**
 * The series in the active viewport, or undefined when no viewport shows one yet. Reads the
 * grid's active viewport, its first display set, and the cornerstone viewport's stack position.
 */
export function activeSeries(services: OhifServices): ActiveSeries | undefined {
  const viewportId = services.viewportGridService.getActiveViewportId();
  return viewportId === undefined ? undefined : seriesInViewport(services, viewportId);
}

/**
 * The other viewports of the grid that show a different series than `active` (the candidates a
 * match syncs to), in grid order.
 */
export function otherSeriesViewports(services: OhifServices, active: ActiveSeries): ActiveSeries[] {
  const out: ActiveSeries[] = [];
  for (const id of services.viewportGridService.getState().viewports.keys()) {
    if (id === active.viewportId) continue;
    const s = seriesInViewport(services, id);
    if (s && s.seriesInstanceUID !== active.seriesInstanceUID) out.push(s);
  }
  return out;
}

/** The series a viewport shows (its first display set), or undefined when it shows none. */
export function seriesInViewport(services: OhifServices, viewportId: string): ActiveSeries | undefined {
  const uid = services.viewportGridService.getState().viewports.get(viewportId)?.displaySetInstanceUIDs?.[0];
  if (uid === undefined) return undefined;
  const ds = services.displaySetService.getDisplaySetByUID(uid);
  if (!ds?.SeriesInstanceUID || !ds.StudyInstanceUID) return undefined;
  let viewport: StackViewportLike | null | undefined;
  try {
    viewport = services.cornerstoneViewportService.getCornerstoneViewport(viewportId);
  } catch {
    viewport = undefined; // not rendered yet
  }
  const ids = viewport?.getImageIds?.() ?? [];
  const orientation = ds.instance?.ImageOrientationPatient;
  const plane = ids.length ? viewPlane(viewport!, ids) : undefined;
  return {
    viewportId,
    displaySetInstanceUID: uid,
    studyInstanceUID: ds.StudyInstanceUID,
    seriesInstanceUID: ds.SeriesInstanceUID,
    description: ds.SeriesDescription?.trim() || `series ${ds.SeriesNumber ?? ''}`.trim(),
    modality: ds.Modality ?? '?',
    slices: ids.length || ds.numImageFrames || ds.images?.length || 0,
    currentSlice: plane?.axis === 2 ? plane.index : -1,
    ...(plane ? { plane } : {}),
    planeNames: orientation?.length === 6 ? planeNames(orientation.slice(0, 3), orientation.slice(3)) : ['column', 'row', 'acquisition'],
  };
}

const dot3 = (a: ArrayLike<number>, b: ArrayLike<number>, at = 0): number => a[0]! * b[at]! + a[1]! * b[at + 1]! + a[2]! * b[at + 2]!;

/** A volume viewport's view normal this close to a voxel axis (|cos|) shows that axis' planes; anything else is oblique. */
const ALIGNED_COS = 0.999;

/** The plane a viewport shows (see {@link ViewPlane}); undefined while not ready or when oblique. */
export function viewPlane(viewport: StackViewportLike, ids: readonly string[]): ViewPlane | undefined {
  if (viewport.type !== 'orthographic') {
    const index = viewport.getCurrentImageIdIndex();
    const sop = sopOfImageId(ids[index] ?? '');
    return { axis: 2, index, count: ids.length, ...(sop ? { sopInstanceUID: sop } : {}) };
  }
  const camera = viewport.getCamera?.();
  const grid = viewport.getImageData?.();
  const normal = camera?.viewPlaneNormal;
  const focal = camera?.focalPoint;
  if (!grid || !normal || !focal) return undefined;
  const axis = ([0, 1, 2] as const).find((a) => Math.abs(dot3(normal, grid.direction, 3 * a)) > ALIGNED_COS);
  if (axis === undefined) return undefined;
  // cornerstone's own index of the plane on screen (|focal − origin| along the normal over the
  // spacing, rounded): the one its overlay shows and its brush paints, also when the focal point
  // sits half-way between two planes (the volume's centre, on opening).
  const index = viewport.getCurrentImageIdIndex();
  const count = grid.dimensions[axis]!;
  if (index < 0 || index >= count) return undefined;
  const sop = axis === 2 ? sopOfImageId(ids[index] ?? '') : undefined;
  return { axis, index, count, ...(sop ? { sopInstanceUID: sop } : {}) };
}

/**
 * Brings a plane on screen in a viewport: a stack viewport scrolls to the acquired slice; a volume
 * viewport moves its camera along its normal to the plane when it shows that orientation.
 * `index` is in the viewport's grid (for axis 2, found by `sopInstanceUID`). Throws an
 * AnnotationError naming the orientation to switch to when the viewport shows another one.
 */
export function showPlane(viewport: StackViewportLike, plane: { readonly axis: PlaneAxis; readonly index: number; readonly sopInstanceUID?: string }, names: readonly [string, string, string]): void {
  const ids = viewport.getImageIds();
  const k = plane.axis === 2 && plane.sopInstanceUID !== undefined ? ids.findIndex((id) => sopOfImageId(id) === plane.sopInstanceUID) : plane.index;
  const shown = viewPlane(viewport, ids);
  const here = { axis: plane.axis, index: k };
  const wrongView = () => new AnnotationError(`${planeWords(here, names)} is in the ${plane.axis === 2 ? 'acquisition' : names[plane.axis]} orientation: show that orientation in this viewport (OHIF's MPR layout) to go there`, { plane: planeKey(here) });
  if (shown?.axis !== plane.axis) throw wrongView();
  if (viewport.type !== 'orthographic') {
    void viewport.setImageIdIndex?.(k);
    return;
  }
  const camera = viewport.getCamera?.();
  const grid = viewport.getImageData?.();
  if (!camera?.focalPoint || !camera.position || !camera.viewPlaneNormal || !grid) throw wrongView();
  const a = plane.axis;
  const target = [0, 1, 2].map((c) => grid.origin[c]! + k * grid.spacing[a]! * grid.direction[3 * a + c]!);
  const offset = [0, 1, 2].map((c) => target[c]! - camera.focalPoint![c]!);
  const along = dot3(offset, camera.viewPlaneNormal);
  const move = (p: readonly number[]) => [0, 1, 2].map((c) => p[c]! + along * camera.viewPlaneNormal![c]!);
  viewport.setCamera?.({ focalPoint: move(camera.focalPoint), position: move(camera.position) });
  viewport.render?.();
}

/** One model of the store, as /tomosort-models/index.json lists it. */
export interface StoredModel {
  readonly name: string;
  readonly manifest: {
    readonly method?: string;
    readonly inputSize?: number;
    readonly huWindow?: { readonly center: number; readonly width: number };
    readonly steps?: number;
    readonly architecture?: { readonly kind?: string; readonly encoder?: { readonly name?: string } };
  } | null;
}

/** A one-line summary of a stored model's manifest (what the user picks by). */
export function describeModel(m: StoredModel): string {
  const a = m.manifest;
  if (!a) return `${m.name}: no manifest`;
  const parts = [
    a.method ?? 'unknown method',
    a.architecture?.encoder?.name,
    a.architecture?.kind && `${a.architecture.kind} head`,
    a.inputSize && `${a.inputSize}²`,
    a.huWindow && `window ${a.huWindow.center}/${a.huWindow.width}`,
    a.steps !== undefined && `${a.steps} steps`,
  ].filter(Boolean);
  return `${m.name}: ${parts.join(', ')}`;
}
