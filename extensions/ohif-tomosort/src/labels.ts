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
