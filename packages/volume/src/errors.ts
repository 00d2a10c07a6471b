/** Base class of every error thrown by @tomosort/volume. */
export class VolumeError extends Error {
  override readonly name: string = 'VolumeError';
}

/** The voxel buffer, dims, spacing or direction do not describe a valid volume. */
export class InvalidGeometryError extends VolumeError {
  override readonly name = 'InvalidGeometryError';
}

/** An index or size is out of range for the volume it was applied to. */
export class OutOfRangeError extends VolumeError {
  override readonly name = 'OutOfRangeError';
  constructor(
    readonly what: string,
    readonly value: number,
    readonly min: number,
    readonly max: number,
  ) {
    super(`${what} = ${value} is out of range [${min}, ${max}]`);
  }
}

export const isVolumeError = (e: unknown): e is VolumeError => e instanceof VolumeError;
