import { PLANE_FRAMES, axisMapping, reorient, slicePlane } from '@tomosort/volume';
import type { Plane, Volume, VoxelArray, VoxelAxis } from '@tomosort/volume';

/**
 * `v` stacked across `plane` for segmentation: `v` itself when its own slices already are `plane`
 * slices (see `slicePlane`; its slice indices, SEG frames and in-plane orientation stay as they
 * are), else `reorient(v, plane)` (exact; slices in PLANE_FRAMES order: axial feet → head,
 * coronal front → back, sagittal right → left).
 */
export function stackAcross<T extends VoxelArray>(v: Volume<T>, plane: Plane): Volume<T> {
  return slicePlane(v) === plane ? v : reorient(v, plane);
}

/**
 * The anatomical plane whose stack runs across voxel `axis` of `v`, and where plane `index` of
 * `v` (voxel coordinate `axis` = index) lands in `reorient(v, plane)`: a reformat of an
 * acquisition, exact. Undefined for an oblique volume where no plane's normal is nearest `axis`.
 */
export function reformatOf(v: Pick<Volume, 'direction' | 'dims'>, axis: VoxelAxis): { readonly plane: Plane; readonly sliceOf: (index: number) => number } | undefined {
  for (const plane of PLANES) {
    const { perm, sign } = axisMapping(v.direction, PLANE_FRAMES[plane]);
    if (perm[2] === axis) return { plane, sliceOf: (index) => (sign[2] === 1 ? index : v.dims[axis] - 1 - index) };
  }
  return undefined;
}

const PLANES: readonly Plane[] = ['axial', 'coronal', 'sagittal'];
