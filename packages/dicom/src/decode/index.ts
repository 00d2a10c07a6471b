import dicomParser from 'dicom-parser';
import type { DataSet, Element } from 'dicom-parser';
import { inflateSync } from 'fflate';
import { CorruptFileError, DecoderNotLoadedError, TruncatedFileError, UnsupportedEncodingError } from '../errors';
import { TRANSFER_SYNTAXES } from '../tags';
import { decodeRle } from './rle';
import { loadCodec } from './codecs';
import type { CodecName, FrameDecoder, FrameLayout } from './types';

/** The codec of each transfer syntax whose pixel data is encapsulated (compressed) and read here. */
export const ENCAPSULATED_SYNTAXES: Readonly<Record<string, CodecName>> = {
  '1.2.840.10008.1.2.4.50': 'jpeg-baseline',
  '1.2.840.10008.1.2.4.51': 'jpeg-baseline',
  '1.2.840.10008.1.2.4.57': 'jpeg-lossless',
  '1.2.840.10008.1.2.4.70': 'jpeg-lossless',
  '1.2.840.10008.1.2.4.80': 'jpeg-ls',
  '1.2.840.10008.1.2.4.81': 'jpeg-ls',
  '1.2.840.10008.1.2.4.90': 'jpeg-2000',
  '1.2.840.10008.1.2.4.91': 'jpeg-2000',
  '1.2.840.10008.1.2.5': 'rle',
};

/** Loaded frame decoders by codec, for parseImage / readSeries (`loadPixelDecoders` makes them). RLE needs none. */
export type PixelDecoders = Readonly<Partial<Record<CodecName, FrameDecoder>>>;

/** Whether pixel data in `transferSyntaxUID` is encapsulated and decoded here. */
export const isEncapsulatedSyntax = (transferSyntaxUID: string): boolean => ENCAPSULATED_SYNTAXES[transferSyntaxUID] !== undefined;

/**
 * Loads the decoders that the given transfer syntaxes need (each codec package once, on
 * first use); syntaxes that need none, or are not read here, are skipped.
 */
export async function loadPixelDecoders(transferSyntaxUIDs: Iterable<string>): Promise<PixelDecoders> {
  const codecs = new Set<CodecName>();
  for (const uid of transferSyntaxUIDs) {
    const codec = ENCAPSULATED_SYNTAXES[uid];
    if (codec !== undefined && codec !== 'rle') codecs.add(codec);
  }
  const entries = await Promise.all([...codecs].map(async (c) => [c, await loadCodec(c)] as const));
  return Object.fromEntries(entries);
}

/** The TransferSyntaxUID of a Part-10 file's meta group (cheap: the data set is not read); undefined when unreadable. */
export function transferSyntaxOf(bytes: Uint8Array): string | undefined {
  try {
    return dicomParser.readPart10Header(bytes).string('x00020010')?.trim();
  } catch {
    return undefined;
  }
}

/**
 * dicom-parser's `inflater` for Deflated Explicit VR Little Endian (1.2.840.10008.1.2.1.99):
 * the data set after the meta group (`position`) is raw DEFLATE (RFC 1951). Returns the file with
 * that part inflated, which dicom-parser then reads as explicit VR little endian.
 */
export function inflateDataset(bytes: Uint8Array, position: number): Uint8Array {
  const inflated = inflateSync(bytes.subarray(position));
  const out = new Uint8Array(position + inflated.length);
  out.set(bytes.subarray(0, position));
  out.set(inflated, position);
  return out;
}

/**
 * Decodes the encapsulated pixel data of a single-frame image (all fragments form the frame)
 * to its stored values, `rows × columns` long. Throws DecoderNotLoadedError when the syntax's
 * codec is not in `decoders` (load it with loadPixelDecoders, or read with readSeriesAsync),
 * CorruptFileError when the stream does not decode to the header's image.
 */
export function decodeEncapsulatedPixels(
  source: string,
  ds: DataSet,
  pixelElement: Element,
  transferSyntaxUID: string,
  layout: FrameLayout,
  decoders: PixelDecoders = {},
): Int16Array | Uint16Array | Uint8Array | Int8Array {
  const codec = ENCAPSULATED_SYNTAXES[transferSyntaxUID];
  const name = TRANSFER_SYNTAXES[transferSyntaxUID]?.name ?? 'unknown';
  const decode = codec === 'rle' ? decodeRle : codec === undefined ? undefined : decoders[codec];
  if (decode === undefined) throw new DecoderNotLoadedError(source, transferSyntaxUID, name);
  const fragments = pixelElement.fragments ?? [];
  if (fragments.length === 0) throw new TruncatedFileError(source, `${name} pixel data holds no fragment`);
  let frame: Uint8Array;
  try {
    frame = dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixelElement, 0, fragments.length);
  } catch (e) {
    throw new TruncatedFileError(source, `${name} pixel data fragments run past the end of the file (${e instanceof Error ? e.message : String(e)})`);
  }
  // libjpeg-turbo's 8-bit build reads 8-bit streams only; 12-bit JPEG Extended is refused by name.
  const precision = codec === 'jpeg-baseline' ? jpegPrecision(frame) : undefined;
  if (precision !== undefined && precision > 8) throw new UnsupportedEncodingError(source, transferSyntaxUID, `${name} (${precision}-bit)`);
  // JPEG, JPEG-LS and JPEG 2000 codestreams end with FFD9 (EOI / EOC), give or take a few pad bytes.
  // A frame without it was cut short; refusing here spares the codecs, which can spin for tens of
  // seconds on a truncated stream (CharLS did, on a JPEG-LS stream cut in half).
  if (codec !== 'rle' && !endsWithEoi(frame)) throw new CorruptFileError(source, `${name} frame does not end with its end-of-image marker (FFD9): the stream is cut short`);
  const decoded = decode(frame, layout, source);
  const pixels = layout.rows * layout.columns;
  const bytesPerPixel = layout.bitsAllocated / 8;
  // A fresh, aligned buffer the typed arrays below can view (and an 8-bit stream in 16-bit words widened).
  let raw: Uint8Array;
  if (decoded.length === pixels * bytesPerPixel) raw = decoded.byteOffset === 0 && decoded.buffer.byteLength === decoded.length ? decoded : decoded.slice();
  else if (bytesPerPixel === 2 && decoded.length === pixels) raw = new Uint8Array(new Uint16Array(decoded).buffer);
  else {
    throw new CorruptFileError(
      source,
      `${name} pixel data decodes to ${decoded.length} bytes, ${layout.rows}×${layout.columns}×${bytesPerPixel} = ${pixels * bytesPerPixel} expected`,
    );
  }
  if (bytesPerPixel === 1) return layout.signed ? new Int8Array(raw.buffer) : raw;
  return layout.signed ? new Int16Array(raw.buffer) : new Uint16Array(raw.buffer);
}

/**
 * Whether a JPEG-family codestream ends with FFD9 within its last 16 bytes (real files carry a
 * few pad or junk bytes after it). Entropy-coded data never holds FFD9 (JPEG stuffs FF with 00;
 * JPEG-LS and JPEG 2000 forbid FF followed by a byte ≥ 0x90), so a stream cut short lacks it.
 */
function endsWithEoi(frame: Uint8Array): boolean {
  for (let at = frame.length - 2; at >= Math.max(0, frame.length - 16); at--) {
    if (frame[at] === 0xff && frame[at + 1] === 0xd9) return true;
  }
  return false;
}

/** Sample precision in the first start-of-frame marker (SOF0…SOF15 but DHT, JPG, DAC) of a JPEG stream. */
function jpegPrecision(frame: Uint8Array): number | undefined {
  for (let at = 2; at + 4 < frame.length; ) {
    if (frame[at] !== 0xff) return undefined;
    const marker = frame[at + 1]!;
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return frame[at + 4];
    at += 2 + ((frame[at + 2]! << 8) | frame[at + 3]!);
  }
  return undefined;
}

export type { CodecName, FrameDecoder, FrameLayout } from './types';
