import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../errors';
import { decodeRle } from './rle';

/** An RLE frame: the 64-byte header with one offset a segment, then the segments. */
function rleFrame(segments: readonly number[][]): Uint8Array {
  const body = segments.flat();
  const out = new Uint8Array(64 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, segments.length, true);
  let at = 64;
  segments.forEach((s, n) => {
    view.setUint32(4 + 4 * n, at, true);
    at += s.length;
  });
  out.set(body, 64);
  return out;
}

describe('decodeRle (PS3.5 Annex G PackBits)', () => {
  it.each([
    { what: 'literal run of 4, 8-bit 2×2', segments: [[3, 1, 2, 3, 4]], bits: 8 as const, rows: 2, columns: 2, want: [1, 2, 3, 4] },
    { what: 'replicate run (-3 → 4 copies), 8-bit 1×4', segments: [[-3 & 0xff, 9]], bits: 8 as const, rows: 1, columns: 4, want: [9, 9, 9, 9] },
    { what: '-128 is a no-op, 8-bit 1×3', segments: [[0x80, 0, 5, -1 & 0xff, 6]], bits: 8 as const, rows: 1, columns: 3, want: [5, 6, 6] },
    {
      what: '16-bit 1×2: segment 1 holds the high bytes, segment 2 the low bytes',
      segments: [[1, 0x12, 0xab], [1, 0x34, 0xcd]],
      bits: 16 as const,
      rows: 1,
      columns: 2,
      want: [0x34, 0x12, 0xcd, 0xab],
    },
  ])('$what', ({ segments, bits, rows, columns, want }) => {
    expect(Array.from(decodeRle(rleFrame(segments), { rows, columns, bitsAllocated: bits, signed: false }, 'f.dcm'))).toEqual(want);
  });

  it('refuses a frame whose segment count does not match BitsAllocated, naming the file', () => {
    expect(() => decodeRle(rleFrame([[0, 1]]), { rows: 1, columns: 1, bitsAllocated: 16, signed: false }, 'f.dcm')).toThrow(CorruptFileError);
    expect(() => decodeRle(rleFrame([[0, 1]]), { rows: 1, columns: 1, bitsAllocated: 16, signed: false }, 'f.dcm')).toThrow(/^f\.dcm: RLE frame has 1 segments, 2 expected/);
  });

  it('refuses a segment that decodes to fewer pixels than the image holds', () => {
    expect(() => decodeRle(rleFrame([[1, 7, 7]]), { rows: 2, columns: 2, bitsAllocated: 8, signed: false }, 'f.dcm')).toThrow(/RLE segment 1 decodes to 2 of 4 pixels/);
  });
});
