/**
 * The tfjs backends tomosort knows how to start.
 *
 * - `wasm`: XNNPACK compiled to WebAssembly (SIMD). The fastest choice on a CPU, in Node and
 *   browsers. Needs its `.wasm` binaries at a known path or URL.
 * - `cpu`: plain JavaScript. Always available; slow, but the reference for tests.
 * - `webgpu`: compute shaders through `navigator.gpu` (a browser, or Dawn in Node).
 * - `webgl`: WebGL2 shaders in a browser. Not bundled here: the host must import
 *   `@tensorflow/tfjs-backend-webgl` itself.
 */
export type BackendName = 'wasm' | 'cpu' | 'webgpu' | 'webgl';

/** Every {@link BackendName}, in the order tomosort prefers them on a machine with no GPU. */
export const BACKEND_NAMES: readonly BackendName[] = ['wasm', 'webgpu', 'webgl', 'cpu'];

/** Whether `s` names a backend tomosort knows (for parsing a CLI flag or a URL parameter). */
export const isBackendName = (s: string): s is BackendName => (BACKEND_NAMES as readonly string[]).includes(s);
