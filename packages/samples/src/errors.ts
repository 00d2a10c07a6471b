/** Base class of every error thrown by @tomosort/samples. */
export class SampleError extends Error {
  override readonly name: string = 'SampleError';
}

/** A sample that is read from an installed package is not on this machine. */
export class SampleUnavailableError extends SampleError {
  override readonly name = 'SampleUnavailableError';
  constructor(
    /** Sample name, e.g. 'sample:cranium'. */
    readonly sample: string,
    /** Where the file was looked for. */
    readonly path: string,
    /** What to run to install it. */
    readonly remedy: string,
    options?: ErrorOptions,
  ) {
    super(`${sample}: ${path} is missing; ${remedy}`, options);
  }
}

/** An option given to a sample generator is out of range. */
export class SampleOptionError extends SampleError {
  override readonly name = 'SampleOptionError';
}

export const isSampleError = (e: unknown): e is SampleError => e instanceof SampleError;
