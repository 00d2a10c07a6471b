/** A 3-vector. Which space it lives in is said by the branded aliases below. */
export type Vec3 = readonly [number, number, number];

/** Continuous voxel coordinates (i = column, j = row, k = slice), voxel centres at integers. */
export type VoxelCoord = Vec3 & { readonly __space: 'voxel' };
/** Patient coordinates in millimetres, DICOM LPS (x → patient Left, y → Posterior, z → Superior). */
export type PatientMm = Vec3 & { readonly __space: 'patient-mm' };

export const voxelCoord = (i: number, j: number, k: number): VoxelCoord => [i, j, k] as unknown as VoxelCoord;
export const patientMm = (x: number, y: number, z: number): PatientMm => [x, y, z] as unknown as PatientMm;

/** Voxel counts along i (columns), j (rows), k (slices). */
export type Dims = readonly [number, number, number];

/**
 * Direction cosines: the unit vectors, in patient LPS, of increasing i, j and k.
 * `direction[0]` is DICOM's row direction (ImageOrientationPatient[0..2]),
 * `direction[1]` its column direction (ImageOrientationPatient[3..5]),
 * `direction[2]` the direction in which slices are stacked.
 */
export type Direction = readonly [Vec3, Vec3, Vec3];

/** Typed arrays a Volume may hold. */
export type VoxelArray = Int16Array | Uint16Array | Uint8Array | Int32Array | Float32Array | Float64Array;

/** A voxel axis: 0 = i (columns), 1 = j (rows), 2 = k (slices). */
export type VoxelAxis = 0 | 1 | 2;

/** Anatomical planes; the slice normal of each is a patient axis. */
export type Plane = 'axial' | 'coronal' | 'sagittal';

/**
 * A 3D image with its geometry. Voxel (i, j, k) is stored at `i + dims[0] * (j + dims[1] * k)`
 * and its centre lies at `origin + i·spacing[0]·direction[0] + j·spacing[1]·direction[1] + k·spacing[2]·direction[2]`.
 * Values are in physical units where the modality has them (HU for CT).
 */
export interface Volume<T extends VoxelArray = VoxelArray> {
  readonly data: T;
  readonly dims: Dims;
  /** Millimetres between voxel centres along i, j, k. */
  readonly spacing: Vec3;
  /** Patient position (mm) of the centre of voxel (0, 0, 0). */
  readonly origin: PatientMm;
  readonly direction: Direction;
  /** DICOM modality code: 'CT', 'MR', 'SEG' (labels), 'OT'. */
  readonly modality: string;
}

/** One 2D image cut from a volume. Pixel (x, y) is stored at `x + width * y`. */
export interface Slice<T extends VoxelArray = VoxelArray> {
  readonly data: T;
  readonly width: number;
  readonly height: number;
  /** Millimetres between pixel centres along x and y. */
  readonly spacing: readonly [number, number];
}
