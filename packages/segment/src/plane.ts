import { reorient, slicePlane } from '@tomosort/volume';
import type { Plane, Volume, VoxelArray } from '@tomosort/volume';

/**
 * `v` stacked across `plane` for segmentation: `v` itself when its own slices already are `plane`
 * slices (see `slicePlane`; its slice indices, SEG frames and in-plane orientation stay as they
 * are), else `reorient(v, plane)` (exact; slices in PLANE_FRAMES order: axial feet → head,
 * coronal front → back, sagittal right → left).
 */
export function stackAcross<T extends VoxelArray>(v: Volume<T>, plane: Plane): Volume<T> {
  return slicePlane(v) === plane ? v : reorient(v, plane);
}
