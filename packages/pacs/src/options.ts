import { base64Utf8 } from './base64';
import { PacsConfigError } from './errors';

/** How the client authenticates: HTTP basic (Orthanc's RegisteredUsers) or a bearer token (a proxy in front of it). */
export type PacsAuth =
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'bearer'; readonly token: string };

/** Options of {@link PacsClient}. */
export interface PacsClientOptions {
  /**
   * Orthanc's root URL, e.g. `http://127.0.0.1:8042`, or a same-origin proxy path such as
   * `/pacs` in a browser (Orthanc has no CORS). Userinfo (`http://user:pw@host`) is moved into
   * basic auth and never appears in messages.
   */
  readonly baseUrl: string;
  /** Path of the DICOMweb plugin under baseUrl. Default `"dicom-web"`. */
  readonly dicomWebRoot?: string;
  /** Credentials sent with every request. Default: none. */
  readonly auth?: PacsAuth;
  /** Per-attempt time limit in ms, covering headers and body. Default 30 000; `Infinity` disables it. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt for retryable failures (so at most `retries + 1` attempts). Default 3. */
  readonly retries?: number;
  /** Delay before the first retry in ms; doubles on each further retry. Default 200. */
  readonly retryDelayMs?: number;
  /** fetch implementation. Default: the global fetch (Node ≥ 18, browsers). */
  readonly fetch?: typeof fetch;
}

/** Defaults of {@link PacsClientOptions}. */
export const PACS_DEFAULTS = {
  dicomWebRoot: 'dicom-web',
  timeoutMs: 30_000,
  retries: 3,
  retryDelayMs: 200,
} as const;

/** Orthanc's default HTTP address, used when TOMOSORT_PACS_URL is unset. */
export const DEFAULT_PACS_URL = 'http://127.0.0.1:8042';

/** The value of the Authorization header for `auth`. */
export function authorizationHeader(auth: PacsAuth): string {
  return auth.kind === 'basic'
    ? `Basic ${base64Utf8(`${auth.username}:${auth.password}`)}`
    : `Bearer ${auth.token}`;
}

/** Environment variables read by {@link pacsConfigFromEnv}. */
export interface PacsEnv {
  readonly TOMOSORT_PACS_URL?: string | undefined;
  readonly TOMOSORT_PACS_USER?: string | undefined;
  readonly TOMOSORT_PACS_PASSWORD?: string | undefined;
  readonly TOMOSORT_PACS_TOKEN?: string | undefined;
}

/**
 * Client options from environment variables (pass `process.env` in Node):
 * TOMOSORT_PACS_URL (default {@link DEFAULT_PACS_URL}); TOMOSORT_PACS_USER + TOMOSORT_PACS_PASSWORD
 * for basic auth, or TOMOSORT_PACS_TOKEN for a bearer token. Throws PacsConfigError when a user
 * has no password or when both a user and a token are set. Empty strings count as unset.
 */
export function pacsConfigFromEnv(env: PacsEnv): PacsClientOptions {
  const get = (k: keyof PacsEnv): string | undefined => (env[k] ? env[k] : undefined);
  const baseUrl = get('TOMOSORT_PACS_URL') ?? DEFAULT_PACS_URL;
  const user = get('TOMOSORT_PACS_USER');
  const password = get('TOMOSORT_PACS_PASSWORD');
  const token = get('TOMOSORT_PACS_TOKEN');
  if (user !== undefined && token !== undefined) {
    throw new PacsConfigError('set either TOMOSORT_PACS_USER/TOMOSORT_PACS_PASSWORD or TOMOSORT_PACS_TOKEN, not both');
  }
  if ((user === undefined) !== (password === undefined)) {
    throw new PacsConfigError('TOMOSORT_PACS_USER and TOMOSORT_PACS_PASSWORD must be set together');
  }
  if (token !== undefined) return { baseUrl, auth: { kind: 'bearer', token } };
  if (user !== undefined && password !== undefined) return { baseUrl, auth: { kind: 'basic', username: user, password } };
  return { baseUrl };
}
