/** Credentials found in a URL's userinfo part (`http://user:pw@host/`). */
export interface UrlCredentials {
  readonly username: string;
  readonly password: string;
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Splits `http://user:pw@host/path` into the URL without userinfo and the (decoded) credentials.
 * Relative URLs ("/pacs") are returned unchanged: they cannot hold userinfo.
 */
export function splitCredentials(url: string): { url: string; credentials: UrlCredentials | undefined } {
  if (!ABSOLUTE.test(url)) return { url, credentials: undefined };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url: redactUrl(url), credentials: undefined };
  }
  if (!parsed.username && !parsed.password) return { url, credentials: undefined };
  const credentials = { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), credentials };
}

/** The URL with any userinfo removed, for messages and logs. Works on relative URLs too. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1');
}

/** Joins a base URL (absolute or a relative proxy path) and path segments with single slashes. */
export function joinUrl(base: string, ...segments: string[]): string {
  let out = base.replace(/\/+$/, '');
  for (const s of segments) {
    const trimmed = s.replace(/^\/+|\/+$/g, '');
    if (trimmed) out += `/${trimmed}`;
  }
  return out;
}

/** Query values a request may carry; arrays become comma-separated lists (DICOMweb style). */
export type QueryValue = string | number | boolean | readonly (string | number)[] | undefined;

/** Appends `?k=v&…` to a URL, skipping undefined values. */
export function withQuery(url: string, query: Readonly<Record<string, QueryValue>> | undefined): string {
  if (!query) return url;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(',') : String(value);
    // Commas stay literal: Orthanc splits includefield and UID lists before percent-decoding.
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(text).replace(/%2C/gi, ',')}`);
  }
  if (parts.length === 0) return url;
  return `${url}${url.includes('?') ? '&' : '?'}${parts.join('&')}`;
}
