import type { BackendInfo, BestBackendInfo, InitBackendOptions } from '../backends';
import { initBackend, initFirstBackend } from '../backends';
import { BackendInitError } from '../errors';
import type { BackendName } from '../names';
import { registerNodeGradients } from './gradients';
import { nodeWasmDirectory } from './wasm';
import type { NodeWebGpuOptions } from './webgpu';
import { prepareNodeWebGpu } from './webgpu';

export { registerNodeGradients } from './gradients';
export { nodeWasmDirectory } from './wasm';
export type { NodeWebGpu, NodeWebGpuOptions } from './webgpu';
export { SWIFTSHADER_ICD_CANDIDATES, prepareNodeWebGpu } from './webgpu';

/** Options of {@link initNodeBackend}: those of `initBackend` plus the WebGPU-in-Node ones. */
export interface NodeBackendOptions extends InitBackendOptions, NodeWebGpuOptions {}

/**
 * Starts a tfjs backend in Node, doing the Node-only set-up `initBackend` cannot:
 * - gradients: registers tfjs-core's gradient functions (see {@link registerNodeGradients});
 * - wasm: points tfjs at the installed `.wasm` binaries (unless `wasmPaths` is given);
 * - webgpu: installs `navigator.gpu` from Dawn, falling back to SwiftShader without a GPU
 *   (see {@link prepareNodeWebGpu}), before `@tensorflow/tfjs-backend-webgpu` is loaded;
 * - webgl: always fails (no WebGL in Node).
 * The returned `setup` lists what was done; `label` reads e.g. "webgpu (SwiftShader)".
 *
 * @throws BackendInitError naming the backend and the reason
 */
export async function initNodeBackend(name: BackendName, opts: NodeBackendOptions = {}): Promise<BackendInfo> {
  if (opts.gradients !== false) await registerNodeGradients();
  const setup: string[] = [];
  let options: InitBackendOptions = { ...opts, gradients: false };
  switch (name) {
    case 'wasm':
      if (opts.wasmPaths === undefined) {
        const dir = nodeWasmDirectory();
        options = { ...options, wasmPaths: dir };
        setup.push(`wasm binaries from ${dir}`);
      }
      break;
    case 'webgpu':
      setup.push(...(await prepareNodeWebGpu(opts)).setup);
      break;
    case 'webgl':
      throw new BackendInitError('webgl', 'WebGL needs a browser (there is none in Node)');
    case 'cpu':
      break;
  }
  const info = await initBackend(name, options);
  return setup.length > 0 ? { ...info, setup } : info;
}

/**
 * {@link initNodeBackend} on each of `preference` in turn until one starts.
 *
 * @throws NoBackendError (with every failure) when none starts
 */
export function initBestNodeBackend(preference: readonly BackendName[], opts: NodeBackendOptions = {}): Promise<BestBackendInfo> {
  return initFirstBackend(preference, (name) => initNodeBackend(name, opts));
}
