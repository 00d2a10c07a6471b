import type { JobClass } from './worker/protocol';
import { AnnotationError } from './errors';

/**
 * The labels (segments) of the sparse annotation: label value = segment index in OHIF's labelmap
 * = channel of the U-Net = segment number in the exported SEG.
 */

/** Voxels of each label in one slice, in the order of `classes` (values not listed are ignored). */
export function voxelsPerClass(labels: ArrayLike<number>, classes: readonly JobClass[]): number[] {
  const at = new Map(classes.map((c, i) => [c.value, i]));
  const counts = new Array<number>(classes.length).fill(0);
  for (let n = 0; n < labels.length; n++) {
    const i = at.get(labels[n]!);
    if (i !== undefined) counts[i]!++;
  }
  return counts;
}

/** A new label: the next free value, and a name that is not taken (names are what the SEG carries). */
export function addClass(classes: readonly JobClass[], name: string): JobClass[] {
  const trimmed = name.trim();
  if (!trimmed) throw new AnnotationError('Give the new label a name (e.g. "liver").', { label: name });
  if (classes.some((c) => c.name.toLowerCase() === trimmed.toLowerCase())) throw new AnnotationError(`There is already a label called "${trimmed}".`, { label: trimmed });
  const value = classes.reduce((m, c) => Math.max(m, c.value), 0) + 1;
  // A SEG segment number and a uint8 labelmap both cap the count.
  if (value > 255) throw new AnnotationError('At most 255 labels.', { label: trimmed });
  return [...classes, { value, name: trimmed }];
}

/** "liver 340, spleen 12" for a slice's row in the annotated list. */
export function describeCounts(counts: readonly number[], classes: readonly JobClass[]): string {
  const parts = classes.map((c, i) => (counts[i] ? `${c.name} ${counts[i]}` : '')).filter(Boolean);
  return parts.length ? parts.join(', ') : 'no label (background only)';
}

/** A segment as OHIF's segmentation service holds it (the fields we read). */
export interface SegmentLike {
  readonly label?: string;
  readonly active?: boolean;
}

/**
 * The labels as OHIF's segment list has them (added there, renamed, deleted), by segment index;
 * `undefined` when they equal `current`, so the panel re-renders only on a change.
 */
export function classesFromSegments(segments: Readonly<Record<number, SegmentLike | undefined>>, current: readonly JobClass[]): JobClass[] | undefined {
  const next = Object.entries(segments)
    .filter((e): e is [string, SegmentLike] => e[1] !== undefined && Number(e[0]) > 0)
    .map(([k, v]) => ({ value: Number(k), name: v.label?.trim() || `Segment ${k}` }))
    .sort((a, b) => a.value - b.value);
  const same = next.length === current.length && next.every((c, i) => c.value === current[i]!.value && c.name === current[i]!.name);
  return same ? undefined : next;
}

/** The segment OHIF draws with (its active one), if any. */
export function activeSegmentIndex(segments: Readonly<Record<number, SegmentLike | undefined>>): number | undefined {
  const hit = Object.entries(segments).find(([, v]) => v?.active === true);
  return hit ? Number(hit[0]) : undefined;
}

/**
 * A short fingerprint of the annotated set and its labels (FNV-1a over every slice's index, done
 * mark and label values): it changes with any edit, so the panel saves only what changed.
 */
export function annotationSignature(set: readonly { readonly key: string; readonly done: boolean; readonly labels: ArrayLike<number> }[], classes: readonly JobClass[]): string {
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    h = Math.imul(h ^ x, 0x01000193) >>> 0;
  };
  for (const a of set) {
    for (let c = 0; c < a.key.length; c++) mix(a.key.charCodeAt(c));
    mix(a.done ? 1 : 0);
    for (let n = 0; n < a.labels.length; n++) mix(a.labels[n]!);
  }
  return `${set.length}:${h.toString(16)}:${classes.map((c) => `${c.value}=${c.name}`).join('|')}`;
}
