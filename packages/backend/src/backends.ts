import * as tf from '@tensorflow/tfjs-core';
import type { BackendFailure } from './errors';
import { BackendError, BackendInitError, NoBackendError } from './errors';
import { registerGradients } from './gradients';
import type { BackendName } from './names';
import { installWasmKernels } from './wasm/install';
import { useWebGpuKernels } from './webgpu/kernels';

/** How to start a backend. Every field is optional; the defaults suit a browser page. */
export interface InitBackendOptions {
  /**
   * wasm: where the `.wasm` binaries are served, as a URL or path prefix ending in '/', or a map
   * from file name (`tfjs-backend-wasm-simd.wasm`, …) to URL. Default: tfjs' own guess (next to the
   * script), which bundlers usually break. `initNodeBackend` sets it to the installed package.
   * Ignored once the wasm backend has started.
   */
  readonly wasmPaths?: string | Readonly<Record<string, string>>;
  /**
   * wasm: threads for the threaded binary (browsers with cross-origin isolation only; at most 8,
   * tfjs' pool). Default: tfjs' choice, hardware concurrency / 2.
   */
  readonly wasmThreads?: number;
  /** webgpu: ask for the low-power adapter instead of the high-performance one. Default false. */
  readonly lowPowerGpu?: boolean;
  /** Register tfjs-core's gradient functions, which training needs (see `registerGradients`). Default true. */
  readonly gradients?: boolean;
}

/** What `initBackend` started. */
export interface BackendInfo {
  /** The backend asked for. */
  readonly requested: BackendName;
  /** `tf.getBackend()` afterwards. */
  readonly active: string;
  /** One line for logs and CLI output, e.g. "wasm (SIMD, 1 thread)", "webgpu (SwiftShader)". */
  readonly label: string;
  /** webgpu: the adapter, as "vendor / architecture / device / description" (empty parts left out). */
  readonly adapter?: string;
  /** webgpu: the adapter is a CPU emulation (SwiftShader, a fallback adapter): good for correctness, not speed. */
  readonly softwareAdapter?: boolean;
  /** wasm: the SIMD binary is in use. */
  readonly simd?: boolean;
  /** wasm: worker threads (1 when single-threaded, as always in Node). */
  readonly threads?: number;
  /** Set-up steps taken on the way (Node: which Vulkan driver, which .wasm directory). */
  readonly setup?: readonly string[];
}

/** `initBestBackend`'s result: the backend that started, and why the ones before it did not. */
export interface BestBackendInfo extends BackendInfo {
  readonly failures: readonly BackendFailure[];
}

/** The part of WebGPU's `GPUAdapterInfo` we read (fields may be missing in older browsers). */
interface GpuAdapterInfoLike {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
}

interface GpuAdapterLike {
  readonly info?: GpuAdapterInfoLike;
  readonly isFallbackAdapter?: boolean;
  requestAdapterInfo?(): Promise<GpuAdapterInfoLike>;
}

/** The part of `navigator.gpu` (`GPU`) we call. */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapterLike | null>;
}

/** `navigator.gpu` if this environment has one (a WebGPU browser, a worker, or Node after `initNodeBackend`). */
export function navigatorGpu(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu ?? undefined;
}

const isNode = (): boolean =>
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';

/** Registration priorities tfjs gives its backends (only used when we re-register a factory). */
const PRIORITY: Readonly<Record<BackendName, number>> = { webgpu: 3, webgl: 2, wasm: 2, cpu: 1 };

const describeError = (e: unknown): string =>
  e instanceof Error ? e.message : typeof e === 'object' && e !== null && 'message' in e ? String(e.message) : String(e);

/**
 * `tf.setBackend(name)` + `tf.ready()`, turning tfjs' silent `false` (it only logs the cause)
 * into a {@link BackendInitError} that carries the cause: the factory is wrapped while it runs.
 */
async function switchTo(name: BackendName): Promise<void> {
  const factory = tf.findBackendFactory(name);
  if (factory == null) throw new BackendInitError(name, `no tfjs backend named '${name}' is registered`);
  let cause: unknown;
  const initialised = tf.findBackend(name) != null;
  if (!initialised) {
    tf.removeBackend(name);
    tf.registerBackend(
      name,
      async () => {
        try {
          return await factory();
        } catch (e) {
          cause = e;
          throw e;
        }
      },
      PRIORITY[name],
    );
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    cause ??= e;
    ok = false;
  }
  if (!ok) {
    if (tf.findBackend(name) == null) {
      // Put the plain factory back so a later attempt starts clean.
      tf.removeBackend(name);
      tf.registerBackend(name, factory, PRIORITY[name]);
    }
    throw new BackendInitError(
      name,
      cause === undefined ? `tf.setBackend('${name}') failed` : `tf.setBackend('${name}') failed: ${describeError(cause)}`,
      { cause },
    );
  }
  await tf.ready();
}

function adapterDescription(info: GpuAdapterInfoLike | undefined): string {
  if (!info) return '';
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s != null && s !== '').join(' / ');
}

/** Short adapter name for the label: "SwiftShader", else the description, else vendor + architecture. */
function adapterShortName(info: GpuAdapterInfoLike | undefined): string {
  if (!info) return 'unknown adapter';
  const all = adapterDescription(info);
  if (/swiftshader/i.test(all)) return 'SwiftShader';
  return info.description || [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unknown adapter';
}

async function startWebGpu(opts: InitBackendOptions): Promise<Partial<BackendInfo>> {
  const gpu = navigatorGpu();
  if (!gpu) {
    throw new BackendInitError(
      'webgpu',
      isNode()
        ? "no GPU adapter (navigator.gpu missing): in Node call initNodeBackend('webgpu') from @tomosort/backend/node"
        : 'no GPU adapter (navigator.gpu missing): this browser or context has no WebGPU',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: opts.lowPowerGpu ? 'low-power' : 'high-performance' });
  if (!adapter) throw new BackendInitError('webgpu', 'no GPU adapter (navigator.gpu.requestAdapter() returned null)');
  const info = adapter.info ?? (await adapter.requestAdapterInfo?.());
  await import('@tensorflow/tfjs-backend-webgpu');
  if (tf.findBackendFactory('webgpu') == null) {
    throw new BackendInitError(
      'webgpu',
      '@tensorflow/tfjs-backend-webgpu was loaded before navigator.gpu existed, so it registered no backend: ' +
        'do not import it yourself; let initBackend / initNodeBackend load it',
    );
  }
  tf.env().set('WEBGPU_USE_LOW_POWER_GPU', opts.lowPowerGpu === true);
  useWebGpuKernels('all');
  await switchTo('webgpu');
  const software = adapter.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe|microsoft basic render/i.test(adapterDescription(info));
  return { adapter: adapterDescription(info), softwareAdapter: software, label: `webgpu (${adapterShortName(info)})` };
}

/**
 * tfjs-wasm caps its thread pool at navigator.hardwareConcurrency / 2 (it assumes two hardware
 * threads per core, so a 2-vCPU machine gets one thread) and at 8. To honour a count asked for
 * explicitly, the count its module reads as it starts is raised to 2 × threads, then restored.
 */
async function withLogicalCoresFor<T>(threads: number | undefined, start: () => Promise<T>): Promise<T> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const cores = nav?.hardwareConcurrency;
  if (nav === undefined || cores === undefined || threads === undefined || threads <= Math.floor(cores / 2)) return start();
  Object.defineProperty(nav, 'hardwareConcurrency', { value: 2 * threads, configurable: true });
  try {
    return await start();
  } finally {
    // The own property shadowed the prototype's getter; removing it brings the real count back.
    delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency;
  }
}

async function startWasm(opts: InitBackendOptions): Promise<Partial<BackendInfo>> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    throw new BackendInitError('wasm', `cannot load @tensorflow/tfjs-backend-wasm: ${describeError(e)}`, { cause: e });
  }
  if (tf.findBackend('wasm') == null) {
    try {
      if (opts.wasmPaths !== undefined) wasm.setWasmPaths(opts.wasmPaths as string | Record<string, string>);
    } catch (e) {
      // tfjs refuses new paths once the module has tried to load, even if that attempt failed.
      throw new BackendInitError('wasm', `cannot change the .wasm paths after an earlier start attempt: ${describeError(e)}`, {
        cause: e,
      });
    }
    if (opts.wasmThreads !== undefined) wasm.setThreadsCount(opts.wasmThreads);
  }
  await withLogicalCoresFor(opts.wasmThreads, () => switchTo('wasm'));
  installWasmKernels();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = wasm.getThreadsCount();
  return {
    simd: simd === true,
    threads,
    label: `wasm (${simd === true ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'})`,
  };
}

/**
 * Starts one tfjs backend: loads its module, `tf.setBackend`, `tf.ready`, and (unless
 * `gradients: false`) registers tfjs-core's gradients. Browser-safe: it imports no Node module.
 * In Node call `initNodeBackend` from `@tomosort/backend/node`, which first points wasm at its
 * binaries and gives webgpu a `navigator.gpu`.
 *
 * `webgl` is not bundled: it starts only if the host has imported `@tensorflow/tfjs-backend-webgl`.
 *
 * @throws BackendInitError naming the backend and the reason, e.g.
 *   "webgpu: no GPU adapter (navigator.gpu missing): …"
 */
export async function initBackend(name: BackendName, opts: InitBackendOptions = {}): Promise<BackendInfo> {
  if (opts.gradients !== false) await registerGradients();
  let extra: Partial<BackendInfo>;
  try {
    switch (name) {
      case 'cpu':
        await import('@tensorflow/tfjs-backend-cpu');
        await switchTo('cpu');
        extra = { label: 'cpu' };
        break;
      case 'wasm':
        extra = await startWasm(opts);
        break;
      case 'webgpu':
        extra = await startWebGpu(opts);
        break;
      case 'webgl':
        if (tf.findBackendFactory('webgl') == null) {
          throw new BackendInitError(
            'webgl',
            isNode()
              ? 'WebGL needs a browser'
              : "@tensorflow/tfjs-backend-webgl is not loaded (it is not a dependency of @tomosort/backend): import it before initBackend('webgl')",
          );
        }
        await switchTo('webgl');
        extra = { label: 'webgl' };
        break;
    }
  } catch (e) {
    if (e instanceof BackendError) throw e;
    throw new BackendInitError(name, describeError(e), { cause: e });
  }
  return { requested: name, active: tf.getBackend(), label: name, ...extra };
}

/**
 * Tries `init` on each backend of `preference` in order and returns the first that starts, with
 * the failures before it.
 *
 * @throws NoBackendError (with every failure) when none starts
 */
export async function initFirstBackend(
  preference: readonly BackendName[],
  init: (name: BackendName) => Promise<BackendInfo>,
): Promise<BestBackendInfo> {
  const failures: BackendFailure[] = [];
  for (const name of preference) {
    try {
      const info = await init(name);
      return { ...info, failures };
    } catch (e) {
      const error = e instanceof BackendInitError ? e : new BackendInitError(name, describeError(e), { cause: e });
      failures.push({ backend: name, error });
    }
  }
  throw new NoBackendError(failures);
}

/**
 * {@link initBackend} on each of `preference` in turn until one starts, e.g.
 * `initBestBackend(['webgpu', 'wasm', 'cpu'])`. The result says which one runs (`requested`) and
 * why each earlier one failed (`failures`).
 *
 * @throws NoBackendError when none starts
 */
export function initBestBackend(preference: readonly BackendName[], opts: InitBackendOptions = {}): Promise<BestBackendInfo> {
  return initFirstBackend(preference, (name) => initBackend(name, opts));
}
