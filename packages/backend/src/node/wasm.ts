import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { BackendInitError } from '../errors';

/** The binary tfjs picks in Node (SIMD, no threads); its presence proves the directory is right. */
const SIMD_BINARY = 'tfjs-backend-wasm-simd.wasm';

/**
 * The directory holding the installed `@tensorflow/tfjs-backend-wasm` `.wasm` binaries, ending in
 * the path separator: tfjs appends the file name to this prefix, and Emscripten in Node reads it
 * with `fs` (a plain path; a `file:` URL works too).
 *
 * @throws BackendInitError when the package or its binaries cannot be found
 */
export function nodeWasmDirectory(): string {
  let main: string;
  try {
    main = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    throw new BackendInitError('wasm', '@tensorflow/tfjs-backend-wasm is not installed', { cause: e });
  }
  const dir = dirname(main);
  if (!existsSync(join(dir, SIMD_BINARY))) {
    throw new BackendInitError('wasm', `no ${SIMD_BINARY} next to ${main}`);
  }
  return dir + sep;
}
