import { InvalidGeometryError, OutOfRangeError } from './errors';
import type { Dims, Direction, PatientMm, Vec3, Volume, VoxelArray, VoxelCoord } from './types';
import { patientMm, voxelCoord } from './types';
import { add, cross, dot, norm, scale } from './vec';

/** Identity direction: i → L, j → P, k → S. */
export const IDENTITY_DIRECTION: Direction = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];

const ORTHO_TOLERANCE = 1e-3;

export interface VolumeInit<T extends VoxelArray> {
  data: T;
  dims: Dims;
  spacing: Vec3;
  origin?: Vec3;
  direction?: Direction;
  modality?: string;
}

/**
 * Builds a Volume, checking that the buffer length matches dims, that spacing is positive and
 * that the direction cosines are orthonormal (within 1e-3).
 */
export function createVolume<T extends VoxelArray>(init: VolumeInit<T>): Volume<T> {
  const { data, dims, spacing } = init;
  const direction = init.direction ?? IDENTITY_DIRECTION;
  if (dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new InvalidGeometryError(`dims must be positive integers, got [${dims.join(', ')}]`);
  }
  const count = dims[0] * dims[1] * dims[2];
  if (data.length !== count) {
    throw new InvalidGeometryError(
      `voxel buffer holds ${data.length} values but dims [${dims.join(', ')}] need ${count}`,
    );
  }
  if (spacing.some((s) => !(s > 0) || !Number.isFinite(s))) {
    throw new InvalidGeometryError(`spacing must be positive, got [${spacing.join(', ')}]`);
  }
  for (let a = 0; a < 3; a++) {
    const v = direction[a]!;
    if (Math.abs(norm(v) - 1) > ORTHO_TOLERANCE) {
      throw new InvalidGeometryError(`direction[${a}] = [${v.join(', ')}] is not a unit vector`);
    }
    for (let b = a + 1; b < 3; b++) {
      if (Math.abs(dot(v, direction[b]!)) > ORTHO_TOLERANCE) {
        throw new InvalidGeometryError(`direction[${a}] and direction[${b}] are not orthogonal`);
      }
    }
  }
  const o = init.origin ?? [0, 0, 0];
  return {
    data,
    dims: [dims[0], dims[1], dims[2]],
    spacing: [spacing[0], spacing[1], spacing[2]],
    origin: patientMm(o[0], o[1], o[2]),
    direction,
    modality: init.modality ?? 'OT',
  };
}

/** Number of voxels. */
export const voxelCount = (v: Pick<Volume, 'dims'>): number => v.dims[0] * v.dims[1] * v.dims[2];

/** Flat buffer index of voxel (i, j, k); throws when outside the volume. */
export function voxelIndex(v: Pick<Volume, 'dims'>, i: number, j: number, k: number): number {
  const [nx, ny, nz] = v.dims;
  if (i < 0 || i >= nx) throw new OutOfRangeError('i', i, 0, nx - 1);
  if (j < 0 || j >= ny) throw new OutOfRangeError('j', j, 0, ny - 1);
  if (k < 0 || k >= nz) throw new OutOfRangeError('k', k, 0, nz - 1);
  return i + nx * (j + ny * k);
}

/** Patient position (mm) of continuous voxel coordinates. */
export function voxelToPatient(v: Volume, c: VoxelCoord): PatientMm {
  let p: Vec3 = v.origin;
  for (let a = 0; a < 3; a++) p = add(p, scale(v.direction[a]!, c[a]! * v.spacing[a]!));
  return patientMm(p[0], p[1], p[2]);
}

/** Continuous voxel coordinates of a patient position (mm); exact inverse for orthonormal directions. */
export function patientToVoxel(v: Volume, p: PatientMm): VoxelCoord {
  const d: Vec3 = [p[0] - v.origin[0], p[1] - v.origin[1], p[2] - v.origin[2]];
  return voxelCoord(
    dot(d, v.direction[0]) / v.spacing[0],
    dot(d, v.direction[1]) / v.spacing[1],
    dot(d, v.direction[2]) / v.spacing[2],
  );
}

/** +1 when (i, j, k) is a right-handed frame in patient space, −1 when left-handed. */
export const handedness = (v: Volume): 1 | -1 =>
  dot(cross(v.direction[0], v.direction[1]), v.direction[2]) >= 0 ? 1 : -1;

/** Smallest and largest voxel value. */
export function valueRange(data: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let n = 0; n < data.length; n++) {
    const x = data[n]!;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}
