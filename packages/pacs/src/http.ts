import type { OrthancErrorBody } from './errors';
import { PacsArgumentError, PacsConnectionError, PacsHttpError, PacsTimeoutError } from './errors';
import { linkSignals, sleep } from './signals';
import { redactUrl } from './url';

/**
 * Which failures a request may be retried on.
 * - `idempotent`: connection errors and 5xx answers (GET, POST /tools/find, POST /tools/lookup).
 * - `connection`: connection errors only; for stores that Orthanc de-duplicates, where a 5xx means
 *   the server did process the request and failed.
 * - `never`: no retry (DELETE: a retry after a lost answer would turn success into 404).
 */
export type RetryPolicy = 'idempotent' | 'connection' | 'never';

/** HTTP methods the client sends. */
export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/** One logical request (possibly several attempts). `url` is absolute or same-origin relative, without userinfo. */
export interface HttpCall {
  readonly method: HttpMethod;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
  readonly retry: RetryPolicy;
  /** Non-2xx statuses to hand back instead of throwing (STOW-RS answers 400/409 with a report). */
  readonly acceptStatus?: readonly number[];
  readonly signal?: AbortSignal | undefined;
}

/** A fully read answer. */
export interface HttpAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly bytes: Uint8Array;
  readonly attempts: number;
}

/** How requests are sent: the client's resolved options. */
export interface Transport {
  readonly fetch: typeof fetch;
  readonly authorization: string | undefined;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
}

const RETRYABLE_STATUS = new Set([500, 502, 503, 504]);
const EXCERPT_CHARS = 300;

/**
 * Sends `call`, reading the whole body inside the per-attempt timeout, retrying as its policy
 * allows with exponential backoff (retryDelayMs · 2^(n−1) before retry n). Throws PacsHttpError,
 * PacsTimeoutError, PacsConnectionError, or the caller signal's reason when it aborts.
 */
export async function send(t: Transport, call: HttpCall): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...call.headers };
  if (t.authorization) headers['Authorization'] = t.authorization;
  const shownUrl = redactUrl(call.url);
  for (let attempt = 1; ; attempt++) {
    call.signal?.throwIfAborted();
    const linked = linkSignals([call.signal], t.timeoutMs);
    const init: RequestInit = { method: call.method, headers, signal: linked.signal };
    if (call.body !== undefined) init.body = call.body as RequestInit['body']; // a Uint8Array is a valid body; DOM's typing wants ArrayBuffer-backed
    let response: Response | undefined;
    let bytes: Uint8Array;
    try {
      const aborted = rejectOnAbort(linked.signal);
      response = await settleFirst(t.fetch(call.url, init), aborted);
      bytes = new Uint8Array(await settleFirst(response.arrayBuffer(), aborted));
    } catch (e) {
      if (linked.signal.aborted) response?.body?.cancel().catch(() => undefined);
      if (call.signal?.aborted) throw call.signal.reason;
      if (linked.timedOut) throw new PacsTimeoutError(call.method, shownUrl, t.timeoutMs);
      if (isUrlError(e)) {
        throw new PacsArgumentError(`cannot send ${call.method} ${shownUrl}: ${(e as Error).message} (outside a browser baseUrl must be absolute)`);
      }
      if (call.retry !== 'never' && attempt <= t.retries) {
        await sleep(backoff(t, attempt), call.signal);
        continue;
      }
      throw new PacsConnectionError(call.method, shownUrl, attempt, errorCode(e), { cause: e });
    } finally {
      linked.dispose();
    }
    const { status } = response;
    if (response.ok || call.acceptStatus?.includes(status)) {
      return { status, statusText: response.statusText, headers: response.headers, bytes, attempts: attempt };
    }
    if (call.retry === 'idempotent' && RETRYABLE_STATUS.has(status) && attempt <= t.retries) {
      await sleep(backoff(t, attempt), call.signal);
      continue;
    }
    throw httpError({ method: call.method, url: shownUrl }, { status, statusText: response.statusText, bytes, attempts: attempt });
  }
}

/** The PacsHttpError for an answer with an error status (`req.url` must already be redacted). */
export function httpError(
  req: { readonly method: string; readonly url: string },
  answer: Pick<HttpAnswer, 'status' | 'statusText' | 'bytes' | 'attempts'>,
): PacsHttpError {
  return new PacsHttpError(
    req,
    answer.status,
    answer.statusText,
    decodeExcerpt(answer.bytes),
    orthancErrorBody(answer.bytes),
    answer.attempts,
  );
}

/** A promise that rejects with the signal's reason once it aborts (never settles otherwise). */
function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * `work`, unless `aborted` rejects first. Node 20's fetch (undici) follows its signal through a weak
 * reference: when the Request object is garbage-collected mid-flight, aborting no longer settles
 * the fetch (nodejs/undici#4627; seen here: one of six cancelled downloads hung for good). Racing
 * our own abort promise keeps cancellation and timeouts reliable; the loser's rejection is swallowed.
 */
function settleFirst<T>(work: Promise<T>, aborted: Promise<never>): Promise<T> {
  work.catch(() => undefined);
  aborted.catch(() => undefined);
  return Promise.race([work, aborted]);
}

const backoff = (t: Transport, attempt: number): number => t.retryDelayMs * 2 ** (attempt - 1);

function isUrlError(e: unknown): boolean {
  return e instanceof TypeError && /Failed to parse URL|Invalid URL/i.test(e.message);
}

/** The first system error code (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, …) in e's cause chain. */
function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 4 && cur !== null && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const inner = (cur as { errors?: unknown }).errors;
    if (Array.isArray(inner) && inner.length > 0) {
      const c = errorCode(inner[0]);
      if (c) return c;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function decodeExcerpt(bytes: Uint8Array): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 4 * EXCERPT_CHARS));
  const collapsed = text.replace(/\s+/g, ' ').trim();
  return collapsed.length > EXCERPT_CHARS ? `${collapsed.slice(0, EXCERPT_CHARS)}…` : collapsed;
}

/** Orthanc's JSON error object (`{"Message": …, "Details": …, "OrthancStatus": …}`), if that is what `bytes` hold. */
function orthancErrorBody(bytes: Uint8Array): OrthancErrorBody | undefined {
  if (bytes.length === 0 || bytes.length > 65_536) return undefined;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const o = parsed as Record<string, unknown>;
    const message = typeof o['Message'] === 'string' ? o['Message'] : undefined;
    if (message === undefined) return undefined;
    const body: { message: string; details?: string; orthancStatus?: number } = { message };
    if (typeof o['Details'] === 'string') body.details = o['Details'];
    if (typeof o['OrthancStatus'] === 'number') body.orthancStatus = o['OrthancStatus'];
    return body;
  } catch {
    return undefined;
  }
}
