import { OutOfRangeError } from './errors';
import type { Direction, Plane, Slice, Vec3, Volume, VoxelArray, VoxelAxis } from './types';
import { voxelCoord } from './types';
import { createVolume, voxelToPatient } from './volume';
import { dot } from './vec';

type ArrayCtor<T extends VoxelArray> = { new (length: number): T };
const ctorOf = <T extends VoxelArray>(a: T): ArrayCtor<T> => a.constructor as ArrayCtor<T>;

/** The two in-plane axes of a slice taken across `axis`, as (x, y). */
export const inPlaneAxes = (axis: VoxelAxis): readonly [VoxelAxis, VoxelAxis] =>
  axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];

/**
 * The 2D image at `index` across voxel `axis`. x and y run along the other two voxel axes in
 * increasing order (axis 2 → x = i, y = j; axis 1 → x = i, y = k; axis 0 → x = j, y = k).
 * The result has the volume's array type.
 */
export function getSlice<T extends VoxelArray>(v: Volume<T>, axis: VoxelAxis, index: number): Slice<T> {
  const n = v.dims[axis];
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new OutOfRangeError(`slice index along axis ${axis}`, index, 0, n - 1);
  }
  const [nx, ny] = v.dims;
  const [ax, ay] = inPlaneAxes(axis);
  const width = v.dims[ax];
  const height = v.dims[ay];
  const out = new (ctorOf(v.data))(width * height);
  if (axis === 2) {
    out.set(v.data.subarray(index * nx * ny, (index + 1) * nx * ny) as never);
  } else {
    const stride = [1, nx, nx * ny] as const;
    const base = index * stride[axis];
    const sx = stride[ax];
    const sy = stride[ay];
    let o = 0;
    for (let y = 0; y < height; y++) {
      const row = base + y * sy;
      for (let x = 0; x < width; x++) out[o++] = v.data[row + x * sx]!;
    }
  }
  return { data: out, width, height, spacing: [v.spacing[ax], v.spacing[ay]] };
}

/**
 * Slices `first..last` (inclusive) along k as a volume of their own with the same geometry: the
 * origin moves to slice `first`, so every voxel keeps its patient position (and a series cut
 * this way stays in its source's frame of reference). The voxels are copied.
 * @throws OutOfRangeError when the range is empty or leaves the volume.
 */
export function cutSlices<T extends VoxelArray>(v: Volume<T>, first: number, last: number): Volume<T> {
  const nz = v.dims[2];
  if (!Number.isInteger(first) || first < 0 || first >= nz) throw new OutOfRangeError('first slice', first, 0, nz - 1);
  if (!Number.isInteger(last) || last < first || last >= nz) throw new OutOfRangeError('last slice', last, first, nz - 1);
  const plane = v.dims[0] * v.dims[1];
  return createVolume({
    data: v.data.slice(first * plane, (last + 1) * plane) as T,
    dims: [v.dims[0], v.dims[1], last - first + 1],
    spacing: v.spacing,
    origin: voxelToPatient(v, voxelCoord(0, 0, first)),
    direction: v.direction,
    modality: v.modality,
  });
}

/**
 * Signed position (mm) of slice `index` across `axis`, measured along that axis' direction from
 * voxel 0. Positions of a stack's slices sort like the slices themselves.
 */
export const slicePositionMm = (v: Volume, axis: VoxelAxis, index: number): number => index * v.spacing[axis];

/**
 * Canonical voxel frames, in patient LPS, of each plane's stack, following radiological display:
 * axial: columns → patient left, rows → posterior, slices feet → head;
 * coronal: columns → left, rows head → feet, slices front → back;
 * sagittal: columns front → back, rows head → feet, slices right → left.
 */
export const PLANE_FRAMES: Readonly<Record<Plane, Direction>> = {
  axial: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
  coronal: [
    [1, 0, 0],
    [0, 0, -1],
    [0, 1, 0],
  ],
  sagittal: [
    [0, 1, 0],
    [0, 0, -1],
    [1, 0, 0],
  ],
};

const PERMUTATIONS: readonly (readonly [VoxelAxis, VoxelAxis, VoxelAxis])[] = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
];

/** How a volume's voxel axes map onto a plane's frame: target axis t takes source axis `perm[t]`, flipped when `sign[t]` is −1. */
export interface AxisMapping {
  readonly perm: readonly [VoxelAxis, VoxelAxis, VoxelAxis];
  readonly sign: readonly [1 | -1, 1 | -1, 1 | -1];
}

/** The permutation and flips of voxel axes that best align a volume with `frame` (largest summed |cos|). */
export function axisMapping(direction: Direction, frame: Direction): AxisMapping {
  let best = PERMUTATIONS[0]!;
  let bestScore = -1;
  for (const p of PERMUTATIONS) {
    const score = p.reduce<number>((s, a, t) => s + Math.abs(dot(direction[a], frame[t]!)), 0);
    if (score > bestScore + 1e-9) {
      best = p;
      bestScore = score;
    }
  }
  const sign = best.map((a, t) => (dot(direction[a], frame[t]!) < 0 ? -1 : 1)) as unknown as AxisMapping['sign'];
  return { perm: best, sign };
}

/** The voxel axis whose direction is closest to a plane's slice normal. */
export const planeAxis = (v: Volume, plane: Plane): VoxelAxis => axisMapping(v.direction, PLANE_FRAMES[plane]).perm[2];

/** Each plane's slice normal as a patient (LPS) axis: x for sagittal, y for coronal, z for axial. */
const NORMAL_AXIS: Readonly<Record<Plane, 0 | 1 | 2>> = { sagittal: 0, coronal: 1, axial: 2 };

/**
 * The anatomical plane of a volume's own slices (across voxel axis k): the plane whose normal is
 * the patient axis closest to `direction[2]` (a tie goes to axial, then coronal). An oblique stack
 * is named by its nearest plane.
 */
export function slicePlane(v: Pick<Volume, 'direction'>): Plane {
  const n = v.direction[2];
  const planes: readonly Plane[] = ['axial', 'coronal', 'sagittal'];
  let best: Plane = 'axial';
  for (const p of planes) if (Math.abs(n[NORMAL_AXIS[p]]) > Math.abs(n[NORMAL_AXIS[best]]) + 1e-9) best = p;
  return best;
}

/**
 * The same voxels with axes permuted and flipped so the volume is stacked as `plane`
 * (see PLANE_FRAMES). Exact (no interpolation); for an oblique volume it picks the nearest
 * voxel axes, and the returned direction cosines still describe the true geometry.
 */
export function reorient<T extends VoxelArray>(v: Volume<T>, plane: Plane): Volume<T> {
  return reorientTo(v, PLANE_FRAMES[plane]);
}

/**
 * The same voxels with axes permuted and flipped to align best with `frame` (largest summed
 * |cos|; see {@link axisMapping}). Exact. `reorientTo(reorient(v, plane), v.direction)` gives `v`
 * back voxel for voxel, with its own dims, spacing and direction (origin to rounding): the way
 * back onto a volume's grid from any plane.
 */
export function reorientTo<T extends VoxelArray>(v: Volume<T>, frame: Direction): Volume<T> {
  const { perm, sign } = axisMapping(v.direction, frame);
  const srcStride = [1, v.dims[0], v.dims[0] * v.dims[1]] as const;
  const dims = [v.dims[perm[0]], v.dims[perm[1]], v.dims[perm[2]]] as const;
  const start = [0, 0, 0];
  const step = [0, 0, 0];
  for (let t = 0; t < 3; t++) {
    const a = perm[t]!;
    step[t] = sign[t]! * srcStride[a];
    if (sign[t] === -1) start[a] = v.dims[a] - 1;
  }
  const out = new (ctorOf(v.data))(v.data.length);
  const base = start[0]! * srcStride[0] + start[1]! * srcStride[1] + start[2]! * srcStride[2];
  const [s0, s1, s2] = step as [number, number, number];
  let o = 0;
  for (let k = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      let src = base + k * s2 + j * s1;
      for (let i = 0; i < dims[0]; i++, src += s0) out[o++] = v.data[src]!;
    }
  }
  const direction = perm.map((a, t) => v.direction[a].map((c) => c * sign[t]! + 0)) as unknown as Direction;
  const spacing: Vec3 = [v.spacing[perm[0]], v.spacing[perm[1]], v.spacing[perm[2]]];
  return createVolume({
    data: out,
    dims,
    spacing,
    origin: voxelToPatient(v, voxelCoord(start[0]!, start[1]!, start[2]!)),
    direction,
    modality: v.modality,
  });
}
