/** Base class of every error thrown by @tomosort/pacs. */
export class PacsError extends Error {
  override readonly name: string = 'PacsError';
}

/** A caller passed an argument the client cannot send (empty UID, frame number 0, …). */
export class PacsArgumentError extends PacsError {
  override readonly name = 'PacsArgumentError';
}

/** The client configuration (options or environment variables) is incomplete or contradictory. */
export class PacsConfigError extends PacsError {
  override readonly name = 'PacsConfigError';
}

/** Orthanc's JSON error body, when the server sent one (`Message`, `Details`, `OrthancStatus`). */
export interface OrthancErrorBody {
  readonly message?: string;
  readonly details?: string;
  readonly orthancStatus?: number;
}

/** Context every request error carries. `url` never contains credentials. */
export interface PacsRequestInfo {
  readonly method: string;
  readonly url: string;
}

/** The server answered with a status the call does not accept (4xx, 5xx). */
export class PacsHttpError extends PacsError {
  override readonly name = 'PacsHttpError';
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly statusText: string;
  /** First ~300 characters of the response body, whitespace collapsed. */
  readonly bodyExcerpt: string;
  /** Orthanc's error fields when the body was Orthanc's JSON error object. */
  readonly orthanc: OrthancErrorBody | undefined;
  /** Number of attempts made (> 1 when 5xx answers were retried). */
  readonly attempts: number;

  constructor(
    request: PacsRequestInfo,
    status: number,
    statusText: string,
    bodyExcerpt: string,
    orthanc: OrthancErrorBody | undefined,
    attempts: number,
  ) {
    const reason = orthanc?.message
      ? `: ${orthanc.message}${orthanc.details ? ` (${orthanc.details})` : ''}`
      : bodyExcerpt
        ? `: ${bodyExcerpt}`
        : '';
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    const hint = status === 401 || status === 403 ? ' (the PACS refused the credentials: set TOMOSORT_PACS_USER and TOMOSORT_PACS_PASSWORD, or TOMOSORT_PACS_TOKEN)' : '';
    super(`${request.method} ${request.url} failed with ${status} ${statusText}${tries}${reason}${hint}`.trim());
    this.method = request.method;
    this.url = request.url;
    this.status = status;
    this.statusText = statusText;
    this.bodyExcerpt = bodyExcerpt;
    this.orthanc = orthanc;
    this.attempts = attempts;
  }
}

/** No complete answer arrived within `timeoutMs` (one attempt; timeouts are not retried). */
export class PacsTimeoutError extends PacsError {
  override readonly name = 'PacsTimeoutError';
  constructor(
    readonly method: string,
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`${method} ${url} timed out after ${timeoutMs} ms`);
  }
}

/**
 * fetch itself failed on every attempt: connection refused or reset, DNS failure, socket closed
 * mid-answer. `code` is the system error code when one was given (ECONNREFUSED, ECONNRESET, …).
 */
export class PacsConnectionError extends PacsError {
  override readonly name = 'PacsConnectionError';
  constructor(
    readonly method: string,
    readonly url: string,
    readonly attempts: number,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `PACS (Orthanc) is unreachable at ${url}: ${method} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}` +
        (code ? ` (${code})` : ''),
      options,
    );
  }
}

/** The server answered 2xx but the body is not what the protocol promises (bad JSON, bad multipart). */
export class PacsResponseError extends PacsError {
  override readonly name: string = 'PacsResponseError';
  constructor(
    readonly method: string,
    readonly url: string,
    problem: string,
  ) {
    super(`${method} ${url} returned an unreadable answer: ${problem}`);
  }
}

/**
 * A multipart answer cut off before its closing boundary (the connection broke mid-answer).
 * Reads are retried like a 5xx; this is thrown after the last attempt.
 */
export class PacsTruncatedError extends PacsResponseError {
  override readonly name = 'PacsTruncatedError';
  constructor(
    method: string,
    url: string,
    problem: string,
    /** Attempts made (> 1 when retried). */
    readonly attempts = 1,
  ) {
    super(method, url, attempts > 1 ? `${problem}, after ${attempts} attempts` : problem);
  }
}

/** One SOP instance a STOW-RS store rejected. */
export interface StowFailure {
  readonly sopClassUID: string | undefined;
  readonly sopInstanceUID: string | undefined;
  /** DICOM FailureReason (0008,1197), e.g. 272 = 0x0110 processing failure. */
  readonly failureReason: number | undefined;
}

/** A STOW-RS store did not store every part it was sent. */
export class PacsStowError extends PacsError {
  override readonly name = 'PacsStowError';
  constructor(
    readonly url: string,
    readonly status: number,
    readonly sent: number,
    readonly stored: number,
    readonly failures: readonly StowFailure[],
  ) {
    const listed = failures
      .slice(0, 5)
      .map((f) => `${f.sopInstanceUID ?? '(unknown SOP)'}${f.failureReason === undefined ? '' : ` reason ${f.failureReason}`}`)
      .join(', ');
    const more = failures.length > 5 ? `, … ${failures.length - 5} more` : '';
    super(
      `POST ${url} (STOW-RS, status ${status}) stored ${stored} of ${sent} instances` +
        (failures.length ? `; failed: ${listed}${more}` : ''),
    );
  }
}

/** True for every error thrown by @tomosort/pacs (including LocalOrthancError). */
export const isPacsError = (e: unknown): e is PacsError => e instanceof PacsError;
/** True when the server answered with an error status; read `status`, `url`, `bodyExcerpt`. */
export const isPacsHttpError = (e: unknown): e is PacsHttpError => e instanceof PacsHttpError;
/** True when an attempt ran past `timeoutMs`. */
export const isPacsTimeoutError = (e: unknown): e is PacsTimeoutError => e instanceof PacsTimeoutError;
/** True when the PACS could not be reached (after all attempts). */
export const isPacsConnectionError = (e: unknown): e is PacsConnectionError => e instanceof PacsConnectionError;
/** True when a STOW-RS store left instances unstored; read `failures`. */
export const isPacsStowError = (e: unknown): e is PacsStowError => e instanceof PacsStowError;
