import type { BackendName } from './names';

/** Base class of every error thrown by @tomosort/backend. */
export class BackendError extends Error {
  override readonly name: string = 'BackendError';
}

/** A tfjs backend could not be started (module missing, no GPU adapter, .wasm not found, …). */
export class BackendInitError extends BackendError {
  override readonly name = 'BackendInitError';
  constructor(
    /** The backend that was asked for. */
    readonly backend: BackendName,
    /** Why it failed, without the backend name. */
    readonly reason: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`${backend}: ${reason}`, options);
  }
}

/** One backend of a preference list that did not start, and why. */
export interface BackendFailure {
  readonly backend: BackendName;
  readonly error: BackendInitError;
}

/** None of the backends in a preference list could be started. */
export class NoBackendError extends BackendError {
  override readonly name = 'NoBackendError';
  constructor(readonly failures: readonly BackendFailure[]) {
    super(
      failures.length === 0
        ? 'no backend was requested (empty preference list)'
        : `no backend could be started: ${failures.map((f) => f.error.message).join('; ')}`,
    );
  }
}

/**
 * An op was called with arguments it cannot accept (wrong rank, channel mismatch, bad stride).
 * The message follows tfjs: "Error in conv2d: …".
 */
export class OpArgumentError extends BackendError {
  override readonly name = 'OpArgumentError';
  constructor(
    /** The op's name as users call it, e.g. "conv2d". */
    readonly op: string,
    detail: string,
  ) {
    super(`Error in ${op}: ${detail}`);
  }
}

export const isBackendError = (e: unknown): e is BackendError => e instanceof BackendError;
