/** Base class of every error thrown by @tomosort/native. */
export class NativeError extends Error {
  override readonly name: string = 'NativeError';
}

/** The addon cannot be used here: not built, hidden by TOMOSORT_NATIVE=off, or it failed to load. */
export class NativeUnavailableError extends NativeError {
  override readonly name = 'NativeUnavailableError';
  constructor(
    /** One line: why, and what to do about it. */
    readonly reason: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`native kernels unavailable: ${reason}`, options);
  }
}

/** A native kernel was called with something it cannot take (its message names the kernel). */
export class NativeKernelError extends NativeError {
  override readonly name = 'NativeKernelError';
  constructor(
    readonly kernel: string,
    detail: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`native ${kernel}: ${detail}`, options);
  }
}

export const isNativeError = (e: unknown): e is NativeError => e instanceof NativeError;
