// The codec packages ship no type declarations; these cover the part of their API used here.

/** An Emscripten/embind decoder of the cornerstone codec builds (libjpeg-turbo, CharLS, OpenJPEG). */
interface CornerstoneWasmDecoder {
  /** A view into the module's heap, `length` bytes, to fill with the encoded frame. */
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean };
  /** A view into the module's heap holding the decoded samples (little endian); valid until the next call. */
  getDecodedBuffer(): Uint8Array;
  delete(): void;
}

/** Options of an Emscripten module factory. */
interface EmscriptenModuleOptions {
  print?: (text: string) => void;
  printErr?: (text: string) => void;
  locateFile?: (path: string, scriptDirectory: string) => string;
}

/** What every cornerstone codec module has besides its decoder class. */
interface CornerstoneWasmModule {
  /** The message of a C++ exception thrown as a pointer (CharLS builds only). */
  getExceptionMessage?: (pointer: number) => string;
}

declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: (options?: EmscriptenModuleOptions) => Promise<CornerstoneWasmModule & { JPEGDecoder: new () => CornerstoneWasmDecoder }>;
  export default factory;
}
declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: (options?: EmscriptenModuleOptions) => Promise<CornerstoneWasmModule & { JpegLSDecoder: new () => CornerstoneWasmDecoder }>;
  export default factory;
}
declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: (options?: EmscriptenModuleOptions) => Promise<CornerstoneWasmModule & { J2KDecoder: new () => CornerstoneWasmDecoder }>;
  export default factory;
}
declare module 'jpeg-lossless-decoder-js' {
  /** JPEG lossless (process 14, any predictor) decoder; pure JavaScript. */
  export class Decoder {
    /** Decodes `length` bytes of `buffer` from `offset`; `numBytes` is bytes a sample (1 or 2). */
    decode(buffer: ArrayBuffer, offset: number, length: number, numBytes: number): Uint8Array | Uint16Array;
  }
}
