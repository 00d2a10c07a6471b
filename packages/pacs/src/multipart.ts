import { parseContentType } from './content-type';

/** One body part of a multipart/related message. Header names are lower-cased. */
export interface MultipartPart {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** The message is not valid multipart (RFC 2046 §5.1): the caller wraps this with method and URL. */
export class MultipartSyntaxError extends Error {
  override readonly name: string = 'MultipartSyntaxError';
}

/** The body ends inside a part (no closing boundary): the answer was cut off. */
export class MultipartTruncatedError extends MultipartSyntaxError {
  override readonly name = 'MultipartTruncatedError';
}

const CR = 13;
const LF = 10;
const DASH = 45;
const latin1 = new TextDecoder('latin1');

/** Index of `needle` in `hay` at or after `from`, or −1. */
function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/** The boundary parameter of a multipart Content-Type header; throws MultipartSyntaxError when absent. */
export function multipartBoundary(contentType: string): string {
  const { mediaType, params } = parseContentType(contentType);
  if (!mediaType.startsWith('multipart/')) throw new MultipartSyntaxError(`Content-Type is ${mediaType || '(none)'}, not multipart`);
  const boundary = params['boundary'];
  if (!boundary) throw new MultipartSyntaxError('multipart Content-Type has no boundary parameter');
  return boundary;
}

/**
 * Splits a multipart body into parts. Bodies are zero-copy views into `bytes`. Lines end in CRLF;
 * the preamble and epilogue are ignored; a missing closing delimiter is an error (truncated answer).
 */
export function parseMultipart(bytes: Uint8Array, boundary: string): MultipartPart[] {
  const enc = new TextEncoder();
  const dashBoundary = enc.encode(`--${boundary}`);
  const delimiter = enc.encode(`\r\n--${boundary}`);
  // The first boundary may open the body (no preceding CRLF) or follow a preamble.
  let pos: number;
  if (indexOfBytes(bytes.subarray(0, dashBoundary.length), dashBoundary, 0) === 0) pos = dashBoundary.length;
  else {
    const at = indexOfBytes(bytes, delimiter, 0);
    if (at < 0) throw new MultipartSyntaxError(`boundary "${boundary}" not found`);
    pos = at + delimiter.length;
  }
  const parts: MultipartPart[] = [];
  for (;;) {
    if (bytes[pos] === DASH && bytes[pos + 1] === DASH) return parts; // close delimiter
    // transport padding, then CRLF
    while (bytes[pos] === 32 || bytes[pos] === 9) pos++;
    if (bytes[pos] !== CR || bytes[pos + 1] !== LF) throw new MultipartSyntaxError(`expected CRLF after boundary at byte ${pos}`);
    pos += 2;
    const headerEnd = indexOfBytes(bytes, enc.encode('\r\n\r\n'), pos - 2);
    if (headerEnd < 0) throw new MultipartSyntaxError(`part ${parts.length + 1} has no end of headers`);
    const headers = parseHeaders(latin1.decode(bytes.subarray(pos, headerEnd)));
    const bodyStart = headerEnd + 4;
    const next = indexOfBytes(bytes, delimiter, bodyStart);
    if (next < 0) throw new MultipartTruncatedError(`part ${parts.length + 1} is not closed by a boundary (truncated answer?)`);
    parts.push({ headers, body: bytes.subarray(bodyStart, next) });
    pos = next + delimiter.length;
  }
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** A random boundary (32 hex digits) that cannot be mistaken for DICOM content in practice. */
export function randomBoundary(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `tomosort-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** Builds a multipart body whose every part has the header `Content-Type: partType`. */
export function buildMultipart(bodies: readonly Uint8Array[], boundary: string, partType: string): Uint8Array {
  const enc = new TextEncoder();
  const head = enc.encode(`--${boundary}\r\nContent-Type: ${partType}\r\n\r\n`);
  const between = enc.encode(`\r\n`);
  const tail = enc.encode(`--${boundary}--\r\n`);
  let size = tail.length;
  for (const b of bodies) size += head.length + b.length + between.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const b of bodies) {
    out.set(head, at);
    at += head.length;
    out.set(b, at);
    at += b.length;
    out.set(between, at);
    at += between.length;
  }
  out.set(tail, at);
  return out;
}
