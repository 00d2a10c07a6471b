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
}

export interface StackViewportLike {
  getImageIds(): string[];
  getCurrentImageIdIndex(): number;
  setImageIdIndex?(index: number): Promise<unknown> | unknown;
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
  /** 0-based index of the slice on screen (stack order), or -1 before the viewport is ready. */
  readonly currentSlice: number;
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
  return {
    viewportId,
    displaySetInstanceUID: uid,
    studyInstanceUID: ds.StudyInstanceUID,
    seriesInstanceUID: ds.SeriesInstanceUID,
    description: ds.SeriesDescription?.trim() || `series ${ds.SeriesNumber ?? ''}`.trim(),
    modality: ds.Modality ?? '?',
    slices: ids.length || ds.numImageFrames || ds.images?.length || 0,
    currentSlice: ids.length ? viewport!.getCurrentImageIdIndex() : -1,
  };
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
