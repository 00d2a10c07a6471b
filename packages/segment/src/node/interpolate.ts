import { morphologicalContourInterpolationNode } from '@itk-wasm/morphological-contour-interpolation';
import type { Volume } from '@tomosort/volume';
import type { SegmentClass, SparseAnnotation } from '../annotation';
import { interpolateWith } from '../interpolate';

/** {@link interpolateWith} on ITK's WebAssembly build for Node (no download). */
export function interpolateAnnotation(a: SparseAnnotation, classes: readonly SegmentClass[]): Promise<Volume<Uint8Array>> {
  return interpolateWith(morphologicalContourInterpolationNode, a, classes);
}
