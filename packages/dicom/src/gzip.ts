import { Gunzip } from 'fflate';
import type { FormatError } from './formatErrors';

/** True when the bytes start with the gzip magic number (1f 8b). */
export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum in a gzip trailer (RFC 1952). */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `bytes[from, to)`. */
export function crc32(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let c = 0xffffffff;
  for (let n = from; n < to; n++) c = CRC_TABLE[(c ^ bytes[n]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const hex = (x: number): string => `0x${x.toString(16).padStart(8, '0')}`;

/**
 * Inflates a gzip stream (one member or several concatenated, as RFC 1952 allows) and checks
 * each member's trailer: CRC-32 of its output and ISIZE (its length mod 2³²). A truncated or
 * corrupt stream, or a trailer that disagrees, throws `ErrorClass` naming the file.
 */
export function gunzipFile(
  bytes: Uint8Array,
  file: string,
  ErrorClass: new (file: string, detail: string, options?: ErrorOptions) => FormatError,
): Uint8Array {
  const chunks: Uint8Array[] = [];
  let produced = 0;
  /** Input offset where each member after the first starts, and the output length at that point. */
  const members: { input: number; output: number }[] = [{ input: 0, output: 0 }];
  try {
    const g = new Gunzip((chunk) => {
      chunks.push(chunk);
      produced += chunk.length;
    });
    g.onmember = (offset) => {
      if (offset > 0) members.push({ input: offset, output: produced });
    };
    g.push(bytes, true);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ErrorClass(file, `truncated or corrupt gzip stream (${why})`, { cause: e });
  }
  const out = new Uint8Array(produced);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  for (let m = 0; m < members.length; m++) {
    const end = members[m + 1]?.input ?? bytes.length;
    const from = members[m]!.output;
    const to = members[m + 1]?.output ?? produced;
    const where = members.length > 1 ? ` of member ${m + 1}` : '';
    if (end < 8) throw new ErrorClass(file, `truncated or corrupt gzip stream (no trailer${where})`);
    const trailer = new DataView(bytes.buffer, bytes.byteOffset + end - 8, 8);
    const storedCrc = trailer.getUint32(0, true);
    const storedSize = trailer.getUint32(4, true);
    const size = (to - from) % 2 ** 32;
    if (storedSize !== size) {
      throw new ErrorClass(file, `truncated or corrupt gzip stream (ISIZE${where} is ${storedSize} but ${size} bytes were inflated)`);
    }
    const crc = crc32(out, from, to);
    if (crc !== storedCrc) {
      throw new ErrorClass(file, `truncated or corrupt gzip stream (CRC-32${where} is ${hex(storedCrc)} but the inflated bytes give ${hex(crc)})`);
    }
  }
  return out;
}
