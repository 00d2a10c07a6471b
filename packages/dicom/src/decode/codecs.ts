/// <reference path="./codecModules.d.ts" />
import { CorruptFileError, DicomError } from '../errors';
import { decodeRle } from './rle';
import type { CodecName, FrameDecoder, FrameLayout } from './types';

/**
 * Loaders of the frame decoders. Each codec package is imported on first use (a dynamic
 * import), so reading uncompressed files never loads one:
 *
 * | codec | package | transfer syntaxes |
 * |---|---|---|
 * | rle | this package (PS3.5 Annex G) | 1.2.840.10008.1.2.5 |
 * | jpeg-baseline | @cornerstonejs/codec-libjpeg-turbo-8bit (wasm) | 1.2.840.10008.1.2.4.50, .51 (8-bit) |
 * | jpeg-lossless | jpeg-lossless-decoder-js (JavaScript) | 1.2.840.10008.1.2.4.57, .70 |
 * | jpeg-ls | @cornerstonejs/codec-charls (wasm) | 1.2.840.10008.1.2.4.80, .81 |
 * | jpeg-2000 | @cornerstonejs/codec-openjpeg (wasm) | 1.2.840.10008.1.2.4.90, .91 |
 *
 * The wasm builds find their `.wasm` file beside their script: in Node through the package's
 * folder, in a browser bundle beside the bundle (the viewer copies the files there).
 */
const LOADERS: Readonly<Record<CodecName, () => Promise<FrameDecoder>>> = {
  rle: async () => decodeRle,
  'jpeg-baseline': async () => {
    const { default: factory } = await import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs');
    const codec = await factory(QUIET);
    return wasmDecoder('JPEG baseline', 'jpeg-baseline', () => new codec.JPEGDecoder(), codec.getExceptionMessage);
  },
  'jpeg-lossless': async () => {
    const { Decoder } = await import('jpeg-lossless-decoder-js');
    return (frame, layout, source) => {
      let out: Uint8Array | Uint16Array;
      try {
        out = new Decoder().decode(frame.buffer as ArrayBuffer, frame.byteOffset, frame.length, layout.bitsAllocated / 8);
      } catch (e) {
        throw new CorruptFileError(source, `JPEG lossless pixel data could not be decoded (${reasonOf(e)})`);
      }
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    };
  },
  'jpeg-ls': async () => {
    const { default: factory } = await import('@cornerstonejs/codec-charls/decodewasmjs');
    const codec = await factory(QUIET);
    return wasmDecoder('JPEG-LS', 'jpeg-ls', () => new codec.JpegLSDecoder(), codec.getExceptionMessage);
  },
  'jpeg-2000': async () => {
    const { default: factory } = await import('@cornerstonejs/codec-openjpeg/decodewasmjs');
    const codec = await factory(QUIET);
    return wasmDecoder('JPEG 2000', 'jpeg-2000', () => new codec.J2KDecoder(), codec.getExceptionMessage);
  },
};

/** OpenJPEG prints its progress on stdout; the decoders' messages are not for the user. */
const QUIET = { print: () => {}, printErr: () => {} };

/**
 * One load a codec, shared by every caller (compiling a wasm module takes 0.1–1 s). A failed
 * load, and a codec whose decode threw (a wasm instance may be left broken), are forgotten, so
 * the next call starts afresh.
 */
const loaded = new Map<CodecName, Promise<FrameDecoder>>();

/** The decoder of `codec`, loading its package on first use. Throws DicomError when it cannot be loaded. */
export function loadCodec(codec: CodecName): Promise<FrameDecoder> {
  let promise = loaded.get(codec);
  if (promise === undefined) {
    promise = LOADERS[codec]().catch((e: unknown) => {
      loaded.delete(codec);
      throw new DicomError(`${codec} decoder`, `could not be loaded (${reasonOf(e)})`);
    });
    loaded.set(codec, promise);
  }
  return promise;
}

function reasonOf(e: unknown, exceptionMessage?: (pointer: number) => string): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'number') return exceptionMessage?.(e) ?? `wasm exception ${e}`;
  return String(e);
}

/** A FrameDecoder over a cornerstone wasm decoder: copies the frame in, checks the frame info, copies the samples out. */
function wasmDecoder(
  label: string,
  codec: CodecName,
  create: () => CornerstoneWasmDecoder,
  exceptionMessage: ((pointer: number) => string) | undefined,
): FrameDecoder {
  return (frame: Uint8Array, layout: FrameLayout, source: string) => {
    const decoder = create();
    try {
      decoder.getEncodedBuffer(frame.length).set(frame);
      try {
        decoder.decode();
      } catch (e) {
        loaded.delete(codec);
        throw new CorruptFileError(source, `${label} pixel data could not be decoded (${reasonOf(e, exceptionMessage)})`);
      }
      const info = decoder.getFrameInfo();
      if (info.width !== layout.columns || info.height !== layout.rows || info.componentCount !== 1 || info.bitsPerSample > layout.bitsAllocated) {
        throw new CorruptFileError(
          source,
          `${label} stream holds ${info.width}×${info.height} pixels, ${info.componentCount} component(s) of ${info.bitsPerSample} bits; ` +
            `the header says ${layout.columns}×${layout.rows}, 1 sample of ${layout.bitsAllocated} bits`,
        );
      }
      // The buffer is a view into the wasm heap: copy it out before the decoder is freed.
      return new Uint8Array(decoder.getDecodedBuffer());
    } finally {
      decoder.delete();
    }
  };
}
