import type { morphologicalContourInterpolationNode } from '@itk-wasm/morphological-contour-interpolation';
import { createVolume } from '@tomosort/volume';
import type { Volume } from '@tomosort/volume';
import type { SegmentClass, SparseAnnotation } from './annotation';
import { validateAnnotation, validateClasses } from './annotation';
import { SegmentError } from './errors';

/** ITK's morphological contour interpolation pipeline: its Node build, or the browser build run in the calling thread. */
export type ContourPipeline = (
  image: Parameters<typeof morphologicalContourInterpolationNode>[0],
  options: Parameters<typeof morphologicalContourInterpolationNode>[1],
) => Promise<{ readonly outputImage: Awaited<ReturnType<typeof morphologicalContourInterpolationNode>>['outputImage'] }>;

/**
 * The interpolation a radiologist already has: morphological contour interpolation (Albu et al.,
 * "A morphology-based approach for interslice interpolation of anatomical slices from volumetric
 * images", IEEE TBME 2008; ITK's MorphologicalContourInterpolator, the algorithm behind OHIF's
 * labelmap interpolation) of the annotated slices along the volume's slice axis (k).
 *
 * Each class is interpolated on its own, with the annotated slices given explicitly, so an
 * annotated slice where a class is absent closes that class's surface there (auto-detection
 * would take it for an unannotated slice). Annotated slices keep their labels exactly. A voxel of
 * an unannotated slice claimed by several classes gets the first of them in `classes`. Values not
 * in `classes` become background.
 *
 * `pipeline` is ITK's WebAssembly build as the platform runs it: `interpolateAnnotation` of
 * `@tomosort/segment/node` in Node, the browser build (its wasm served by the viewer, no
 * download) in the viewer's worker.
 */
export async function interpolateWith(pipeline: ContourPipeline, a: SparseAnnotation, classes: readonly SegmentClass[]): Promise<Volume<Uint8Array>> {
  validateAnnotation(a);
  validateClasses(classes);
  const [nx, ny, nz] = a.labels.dims;
  const plane = nx * ny;
  const annotated = new Uint8Array(nz);
  for (const k of a.slices) annotated[k] = 1;
  const values = new Set(classes.map((c) => c.value));
  const sparse = new Uint8Array(plane * nz);
  for (const k of a.slices) {
    for (let p = k * plane; p < (k + 1) * plane; p++) {
      const v = a.labels.data[p]!;
      if (values.has(v)) sparse[p] = v;
    }
  }
  const out = new Uint8Array(sparse);
  for (const c of classes) {
    let result;
    try {
      result = await pipeline(
        {
          imageType: { dimension: 3, componentType: 'uint8', pixelType: 'Scalar', components: 1 },
          name: a.id,
          origin: [0, 0, 0],
          spacing: [...a.labels.spacing],
          direction: new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]),
          size: [nx, ny, nz],
          metadata: new Map(),
          // The pipeline may keep or transfer its input: give it a copy.
          data: new Uint8Array(sparse),
        },
        { label: c.value, axis: 2, useCustomSlicePositions: true, labeledSliceIndicesAxis: 2, labeledSliceIndicesLabel: c.value, labeledSliceIndices: [...a.slices] },
      );
    } catch (e) {
      throw new SegmentError(`${a.id}: contour interpolation of class "${c.name}" failed (${e instanceof Error ? e.message : String(e)})`);
    }
    const data = result.outputImage.data;
    if (!(data instanceof Uint8Array) || data.length !== out.length) {
      throw new SegmentError(`${a.id}: contour interpolation of class "${c.name}" returned ${data?.length ?? 0} voxels, expected ${out.length}`);
    }
    for (let k = 0; k < nz; k++) {
      if (annotated[k]) continue;
      for (let p = k * plane; p < (k + 1) * plane; p++) if (data[p] === c.value && out[p] === 0) out[p] = c.value;
    }
  }
  return createVolume({ data: out, dims: a.labels.dims, spacing: a.labels.spacing, origin: a.labels.origin, direction: a.labels.direction, modality: 'SEG' });
}
