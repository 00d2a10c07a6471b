/** What a frame decoder needs to know of the image (from its DICOM header). */
export interface FrameLayout {
  readonly rows: number;
  readonly columns: number;
  readonly bitsAllocated: 8 | 16;
  /** PixelRepresentation 1 (two's complement). */
  readonly signed: boolean;
}

/**
 * Decodes one compressed frame of a single-sample image to its stored pixel values as
 * little-endian bytes (`rows × columns × bitsAllocated / 8`, or one byte a pixel for an 8-bit
 * stream in 16-bit words). Throws on a corrupt stream; `source` names the file in errors.
 */
export type FrameDecoder = (frame: Uint8Array, layout: FrameLayout, source: string) => Uint8Array;

/** The decoders, one a compression family, that the transfer syntaxes read here map to. */
export type CodecName = 'rle' | 'jpeg-baseline' | 'jpeg-lossless' | 'jpeg-ls' | 'jpeg-2000';
