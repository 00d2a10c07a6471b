/** A parsed Content-Type header: lower-cased media type and parameters (names lower-cased, values unquoted). */
export interface ContentType {
  readonly mediaType: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses `multipart/related; type="application/dicom"; boundary=abc` (RFC 9110 §8.3.1): parameter
 * values may be tokens or quoted strings with backslash escapes.
 */
export function parseContentType(header: string): ContentType {
  const semi = header.indexOf(';');
  const mediaType = (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
  const params: Record<string, string> = {};
  let i = semi < 0 ? header.length : semi + 1;
  while (i < header.length) {
    while (i < header.length && /[\s;]/.test(header[i]!)) i++;
    const eq = header.indexOf('=', i);
    if (eq < 0) break;
    const name = header.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let value = '';
    if (header[i] === '"') {
      i++;
      while (i < header.length && header[i] !== '"') {
        if (header[i] === '\\' && i + 1 < header.length) i++;
        value += header[i];
        i++;
      }
      i++; // closing quote
      const next = header.indexOf(';', i);
      i = next < 0 ? header.length : next + 1;
    } else {
      const next = header.indexOf(';', i);
      value = (next < 0 ? header.slice(i) : header.slice(i, next)).trim();
      i = next < 0 ? header.length : next + 1;
    }
    if (name) params[name] = value;
  }
  return { mediaType, params };
}
