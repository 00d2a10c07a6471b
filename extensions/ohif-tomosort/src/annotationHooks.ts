import { useEffect, useRef, useState } from 'react';
import { loadAnnotation, saveAnnotation } from './annotationStore';
import type { SavedAnnotation } from './annotationStore';
import { cornerstone, segServices } from './host';
import { activeSegmentIndex, annotationSignature, classesFromSegments, voxelsPerClass } from './labels';
import type { ActiveSeries } from './ohif';
import { panelMessage } from './panelMessage';
import type { Annotated } from './panelSections';
import { hasLabel, planeKey } from './planes';
import { annotatedPlanes, onSegmentationChange } from './segmentation';
import type { JobClass } from './worker/protocol';

// The panel's hooks over the sparse annotation: what the labelmap holds, and what this browser keeps of it.

/** The annotated set is read this long after the last change event of a burst. */
const REFRESH_DEBOUNCE_MS = 150;
/** Read anyway this often (a change no event announced: OHIF's segment list renames). */
const SAFETY_POLL_MS = 3_000;
/** Without cornerstone's events: the poll alone. */
const FALLBACK_POLL_MS = 700;

/** The annotation kept in this browser (IndexedDB) for the series, once read; and the way to note a newer one. */
export function useKeptAnnotation(seriesUid: string | undefined): [SavedAnnotation | undefined, (a: SavedAnnotation | undefined) => void] {
  const [saved, setSaved] = useState<SavedAnnotation | undefined>(undefined);
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
  return [saved, setSaved];
}

/**
 * The annotated set: every plane of the segmentation's labelmap drawn on (brush, eraser,
 * threshold all land there) plus the planes marked done, read when cornerstone says something
 * changed (one read per burst of events) and on a slow poll. OHIF's segment list owns the labels:
 * added, renamed or deleted there, they follow (`onClasses`, `onActiveClass`). Every change is
 * kept in IndexedDB, keyed by series (`onSaved` once written).
 */
export function useAnnotatedSet(opts: {
  readonly segmentationId: string | undefined;
  readonly done: ReadonlySet<string>;
  readonly classes: readonly JobClass[];
  readonly activeClass: number;
  readonly series: ActiveSeries | undefined;
  readonly onClasses: (classes: JobClass[]) => void;
  readonly onActiveClass: (value: number) => void;
  readonly onSaved: (a: SavedAnnotation) => void;
  readonly onError: (message: string) => void;
}): Annotated[] {
  const { segmentationId, done, classes, activeClass, series } = opts;
  const [annotated, setAnnotated] = useState<Annotated[]>([]);
  // What was last written to IndexedDB.
  const savedSignature = useRef('');
  useEffect(() => {
    if (!segmentationId) return;
    const refresh = () => {
      try {
        const segments = segServices().segmentationService.getSegmentation(segmentationId)?.segments;
        if (segments) {
          const next = classesFromSegments(segments, classes);
          if (next && next.length > 0) opts.onClasses(next);
          const active = activeSegmentIndex(segments);
          if (active !== undefined && active !== activeClass) opts.onActiveClass(active);
        }
        const { planes: set, grid } = annotatedPlanes(segServices(), cornerstone(), segmentationId, done, series?.planeNames);
        setAnnotated(set.map(({ axis, index, key, voxels, labels, done: marked }) => ({ axis, index, key, voxels, counts: voxelsPerClass(labels, classes), done: marked, ...(axis === 2 ? { sopInstanceUID: grid.sops[index]! } : {}) })));
        const signature = annotationSignature(set, classes);
        // An empty set is written only over one this panel wrote (everything removed), never over a kept annotation not yet restored.
        if (series && signature !== savedSignature.current && (set.length > 0 || savedSignature.current !== '')) {
          savedSignature.current = signature;
          const record: SavedAnnotation = {
            seriesInstanceUID: series.seriesInstanceUID,
            savedAt: new Date().toISOString(),
            classes: [...classes],
            // Whole label images: a reformatted plane is a row or column of each.
            slices: grid.stack.slices.flatMap((data, k) => (data && hasLabel(data)) || done.has(planeKey({ axis: 2, index: k })) ? [{ sopInstanceUID: grid.sops[k]!, labels: Uint8Array.from(data ?? []) }] : []),
            done: set.filter((a) => a.done && a.axis === 2).map((a) => grid.sops[a.index]!),
            doneReformats: set.filter((a) => a.done && a.axis !== 2).map((a) => a.key),
            planes: set.map((a) => a.key),
          };
          saveAnnotation(record).then(
            () => opts.onSaved(record),
            (e: unknown) => opts.onError(`The annotation could not be kept in this browser: ${panelMessage(e)}`),
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
  return annotated;
}
