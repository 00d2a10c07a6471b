import { CorruptFileError } from '../errors';
import type { FrameLayout } from './types';

/**
 * Decodes one RLE Lossless frame (DICOM PS3.5 Annex G) of a single-sample image into
 * little-endian pixel bytes (`rows × columns × bytesPerPixel`).
 *
 * The frame starts with a 64-byte header: the number of segments, then 15 segment offsets
 * (uint32 little endian). A pixel of B bytes is split into B segments, the most significant
 * byte first; each segment is PackBits: a header byte n in 0…127 copies the next n + 1 bytes,
 * n in -127…-1 repeats the next byte 1 − n times, -128 does nothing.
 */
export function decodeRle(frame: Uint8Array, layout: FrameLayout, source: string): Uint8Array {
  const bytesPerPixel = layout.bitsAllocated / 8;
  const pixels = layout.rows * layout.columns;
  if (frame.length < 64) throw new CorruptFileError(source, `RLE frame is ${frame.length} bytes, shorter than its 64-byte header`);
  const header = new DataView(frame.buffer, frame.byteOffset, 64);
  const segments = header.getUint32(0, true);
  if (segments !== bytesPerPixel) {
    throw new CorruptFileError(source, `RLE frame has ${segments} segments, ${bytesPerPixel} expected for ${layout.bitsAllocated}-bit grayscale`);
  }
  const out = new Uint8Array(pixels * bytesPerPixel);
  for (let s = 0; s < segments; s++) {
    const start = header.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? header.getUint32(8 + 4 * s, true) : frame.length;
    if (start < 64 || end < start || end > frame.length) {
      throw new CorruptFileError(source, `RLE segment ${s + 1} spans bytes ${start}…${end} of a ${frame.length}-byte frame`);
    }
    // Segment s holds byte (B − 1 − s) of each little-endian pixel.
    const shift = bytesPerPixel - 1 - s;
    let p = 0;
    let at = start;
    while (p < pixels && at < end) {
      const n = (frame[at++]! << 24) >> 24;
      if (n >= 0) {
        const count = Math.min(n + 1, end - at, pixels - p);
        for (let c = 0; c < count; c++) out[(p++) * bytesPerPixel + shift] = frame[at++]!;
      } else if (n !== -128) {
        const value = frame[at++]!;
        const count = Math.min(1 - n, pixels - p);
        for (let c = 0; c < count; c++) out[(p++) * bytesPerPixel + shift] = value;
      }
    }
    if (p < pixels) throw new CorruptFileError(source, `RLE segment ${s + 1} decodes to ${p} of ${pixels} pixels`);
  }
  return out;
}
