import { gzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { NiftiError } from './formatErrors';
import { crc32, gunzipFile } from './gzip';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
/** 10 000 bytes that compress but are not constant. */
const payload = (): Uint8Array => Uint8Array.from({ length: 10_000 }, (_, n) => (n * 7 + (n >> 5)) % 251);

describe('crc32', () => {
  it.each([
    ['', 0x00000000],
    ['a', 0xe8b7be43],
    ['123456789', 0xcbf43926], // the CRC-32 check value
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
  ])('crc32(%j) = %i', (s, want) => expect(crc32(ascii(s))).toBe(want));
});

describe('gunzipFile checks the trailer', () => {
  const gz = (): Uint8Array => gzipSync(payload());
  const corrupt = (edit: (b: Uint8Array) => void): Uint8Array => {
    const b = gz();
    edit(b);
    return b;
  };
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.length);

  it('a sound stream and two concatenated members (RFC 1952 §2.2) inflate to the bytes', () => {
    expect(gunzipFile(gz(), 'a.nii.gz', NiftiError)).toEqual(payload());
    const p = payload();
    const two = new Uint8Array([...gzipSync(p.subarray(0, 4000)), ...gzipSync(p.subarray(4000))]);
    expect(gunzipFile(two, 'two.nii.gz', NiftiError)).toEqual(p);
  });

  it.each<[string, (b: Uint8Array) => void, RegExp]>([
    ['CRC-32 off by one bit', (b) => view(b).setUint32(b.length - 8, view(b).getUint32(b.length - 8, true) ^ 1, true), /^bad\.nii\.gz: truncated or corrupt gzip stream \(CRC-32 is 0x[0-9a-f]{8} but the inflated bytes give 0x[0-9a-f]{8}\)$/],
    ['ISIZE 5000 (fflate would cut the output to 5000 bytes)', (b) => view(b).setUint32(b.length - 4, 5000, true), /^bad\.nii\.gz: truncated or corrupt gzip stream \(ISIZE is 5000 but 10000 bytes were inflated\)$/],
    ['ISIZE 20000', (b) => view(b).setUint32(b.length - 4, 20000, true), /^bad\.nii\.gz: truncated or corrupt gzip stream \(ISIZE is 20000 but 10000 bytes were inflated\)$/],
  ])('%s → NiftiError naming the file', (_label, edit, message) => {
    expect(() => gunzipFile(corrupt(edit), 'bad.nii.gz', NiftiError)).toThrow(NiftiError);
    expect(() => gunzipFile(corrupt(edit), 'bad.nii.gz', NiftiError)).toThrow(message);
  });

  it('a flipped bit inside the deflate data that still inflates is caught by the CRC', () => {
    // Find a single-bit flip that fflate inflates without complaint: the silent-corruption case.
    const good = gz();
    let caught = 0;
    let inflatedSilently = 0;
    for (let at = 20; at < good.length - 8 && inflatedSilently < 3; at += 7) {
      const b = good.slice();
      b[at] = b[at]! ^ 0x04;
      try {
        gunzipFile(b, 'flip.nii.gz', NiftiError);
        throw new Error(`a flip at byte ${at} was accepted`);
      } catch (e) {
        expect(e).toBeInstanceOf(NiftiError);
        caught++;
        if (/CRC-32|ISIZE/.test((e as Error).message)) inflatedSilently++;
      }
    }
    expect(inflatedSilently).toBeGreaterThan(0);
    expect(caught).toBeGreaterThan(0);
  });
});
