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
export { PLANE_FRAMES, axisMapping, cutSlices, getSlice, inPlaneAxes, planeAxis, reorient, reorientTo, slicePlane, slicePositionMm } from './slice';
export type { AxisTarget, AxisWeights, Grid, SliceScale } from './resample';
export { axisWeights, resample, resampleInPlane, resampleNearest, resampleTo, restoreInPlane, toModelGrid } from './resample';
export type { HuWindow, IntensityRule } from './window';
export { DEFAULT_INTENSITY, HU_WINDOWS, applyWindow, describeIntensity, inWindowUnits, intensityMap, percentiles, zscore } from './window';
