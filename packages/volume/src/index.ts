export type {
  Dims,
  Direction,
  PatientMm,
  Plane,
  Slice,
  Vec3,
  Volume,
  VoxelArray,
  VoxelAxis,
  VoxelCoord,
} from './types';
export { patientMm, voxelCoord } from './types';
export { InvalidGeometryError, OutOfRangeError, VolumeError, isVolumeError } from './errors';
export { add, cross, dot, norm, normalize, scale, sub } from './vec';
export type { VolumeInit } from './volume';
export {
  IDENTITY_DIRECTION,
  createVolume,
  handedness,
  patientToVoxel,
  valueRange,
  voxelCount,
  voxelIndex,
  voxelToPatient,
} from './volume';
export type { AxisMapping } from './slice';
export { PLANE_FRAMES, axisMapping, getSlice, inPlaneAxes, planeAxis, reorient, reorientTo, slicePlane, slicePositionMm } from './slice';
export type { AxisTarget, AxisWeights } from './resample';
export { axisWeights, resample, resampleTo } from './resample';
export type { HuWindow } from './window';
export { HU_WINDOWS, applyWindow, zscore } from './window';
