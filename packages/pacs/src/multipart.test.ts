import { describe, expect, it } from 'vitest';
import { parseContentType } from './content-type';
import { MultipartSyntaxError, MultipartTruncatedError, buildMultipart, multipartBoundary, parseMultipart, randomBoundary } from './multipart';

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (parts: { body: Uint8Array }[]): string[] => parts.map((p) => dec.decode(p.body));

describe('parseContentType', () => {
  it.each([
    ['multipart/related; type="application/dicom"; boundary=abc-123', 'multipart/related', { type: 'application/dicom', boundary: 'abc-123' }],
    // Orthanc's frames answer: a quoted type holding its own parameter
    [
      'multipart/related; type="application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"; boundary=b9b6',
      'multipart/related',
      { type: 'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1', boundary: 'b9b6' },
    ],
    ['Application/DICOM+JSON', 'application/dicom+json', {}],
    ['text/plain; charset="a\\"b"; X=1', 'text/plain', { charset: 'a"b', x: '1' }],
  ])('%s → %s %j', (header, mediaType, params) => {
    expect(parseContentType(header)).toEqual({ mediaType, params });
  });
});

describe('multipartBoundary', () => {
  it('reads the boundary, rejects non-multipart and boundary-less types', () => {
    expect(multipartBoundary('multipart/related; type="application/dicom"; boundary="q b"')).toBe('q b');
    expect(() => multipartBoundary('application/json')).toThrow('Content-Type is application/json, not multipart');
    expect(() => multipartBoundary('multipart/related; type=x')).toThrow('multipart Content-Type has no boundary parameter');
  });
});

describe('parseMultipart', () => {
  it('2 parts with headers, a preamble and an epilogue → bodies "hello" and "" with lower-cased headers', () => {
    const raw = 'preamble\r\n--XY\r\nContent-Type: a/b\r\nContent-Length: 5\r\n\r\nhello\r\n--XY\r\nContent-Type: c/d\r\n\r\n\r\n--XY--\r\nepilogue';
    const parts = parseMultipart(enc.encode(raw), 'XY');
    expect(text(parts)).toEqual(['hello', '']);
    expect(parts[0]!.headers).toEqual({ 'content-type': 'a/b', 'content-length': '5' });
  });

  it('a part without headers, and a body holding CRLF and "--X" that is not a delimiter', () => {
    const raw = '--XY\r\n\r\nline1\r\n--X\r\nline2\r\n--XY--';
    expect(text(parseMultipart(enc.encode(raw), 'XY'))).toEqual(['line1\r\n--X\r\nline2']);
  });

  it('binary bodies survive byte for byte (all 256 byte values)', () => {
    const body = Uint8Array.from({ length: 256 }, (_, i) => i);
    const [part] = parseMultipart(buildMultipart([body], 'B0', 'application/dicom'), 'B0');
    expect([...part!.body]).toEqual([...body]);
  });

  it('round trip: buildMultipart of 3 bodies parses back to the same 3 bodies with their Content-Type', () => {
    const bodies = ['a', '', 'ccc'].map((s) => enc.encode(s));
    const boundary = randomBoundary();
    const parts = parseMultipart(buildMultipart(bodies, boundary, 'application/dicom'), boundary);
    expect(text(parts)).toEqual(['a', '', 'ccc']);
    expect(parts.every((p) => p.headers['content-type'] === 'application/dicom')).toBe(true);
  });

  it.each([
    ['no boundary at all', 'hello', new MultipartSyntaxError('boundary "XY" not found')],
    ['a truncated answer (no closing delimiter)', '--XY\r\n\r\nhel', new MultipartTruncatedError('part 1 is not closed by a boundary (truncated answer?)')],
    ['headers that never end', '--XY\r\nContent-Type: a', new MultipartSyntaxError('part 1 has no end of headers')],
    ['garbage after a boundary', '--XY!!\r\n\r\nx\r\n--XY--', new MultipartSyntaxError('expected CRLF after boundary at byte 4')],
  ])('rejects %s', (_what, raw, error) => {
    expect(() => parseMultipart(enc.encode(raw), 'XY')).toThrow(error);
  });
});

describe('randomBoundary', () => {
  it('is "tomosort-" + 32 hex digits and differs between calls', () => {
    const a = randomBoundary();
    expect(a).toMatch(/^tomosort-[0-9a-f]{32}$/);
    expect(randomBoundary()).not.toBe(a);
  });
});
