import { loadPixelDecoders, transferSyntaxOf } from './decode';
import type { DicomInput } from './parseImage';
import { readSeries } from './readSeries';
import type { ReadSeriesOptions, SeriesVolume } from './readSeries';

/**
 * {@link readSeries} for inputs in any transfer syntax read here: first loads the decoders
 * that the inputs' transfer syntaxes need (JPEG, JPEG-LS, JPEG 2000; each codec package once,
 * on first use), then reads synchronously. Use it wherever files may come compressed from a
 * PACS or a folder; readSeries alone reads uncompressed, deflated and RLE files.
 */
export async function readSeriesAsync(inputs: readonly DicomInput[], opts: ReadSeriesOptions = {}): Promise<SeriesVolume> {
  const syntaxes = new Set<string>();
  for (const input of inputs) {
    const uid = transferSyntaxOf(input.bytes);
    if (uid !== undefined) syntaxes.add(uid);
  }
  const decoders = { ...(await loadPixelDecoders(syntaxes)), ...opts.decoders };
  return readSeries(inputs, { ...opts, decoders });
}
