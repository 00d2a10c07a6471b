import { gunzipSync } from 'fflate';
import type { FormatError } from './formatErrors';

/** True when the bytes start with the gzip magic number (1f 8b). */
export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/**
 * Inflates a gzip stream; a truncated or corrupt one throws `ErrorClass` naming the file.
 */
export function gunzipFile(
  bytes: Uint8Array,
  file: string,
  ErrorClass: new (file: string, detail: string, options?: ErrorOptions) => FormatError,
): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ErrorClass(file, `truncated or corrupt gzip stream (${why})`, { cause: e });
  }
}
