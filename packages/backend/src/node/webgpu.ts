import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import type { GpuLike } from '../backends';
import { navigatorGpu } from '../backends';
import { BackendInitError } from '../errors';

/**
 * Vulkan ICD manifests of the SwiftShader (CPU) Vulkan driver that Chromium packages ship, most
 * likely first. Dawn accepts SwiftShader; it rejects Mesa's lavapipe.
 */
export const SWIFTSHADER_ICD_CANDIDATES: readonly string[] = [
  '/usr/lib/chromium/vk_swiftshader_icd.json', // Debian / Ubuntu `chromium`
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json', // Fedora
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

/** How `prepareNodeWebGpu` finds a WebGPU adapter in Node. */
export interface NodeWebGpuOptions {
  /**
   * Vulkan ICD manifest to fall back on (Linux) when VK_ICD_FILENAMES is unset and the machine's
   * own Vulkan set-up gives no adapter (no GPU). Default: the first of
   * {@link SWIFTSHADER_ICD_CANDIDATES} that exists. `false`: no fallback (a real GPU or nothing).
   */
  readonly fallbackIcd?: string | false;
  /** Flags for the `webgpu` package's `create()`, e.g. Dawn toggles. Default none. */
  readonly dawnFlags?: readonly string[];
}

/** What `prepareNodeWebGpu` set up. */
export interface NodeWebGpu {
  /** The `navigator.gpu` it installed (or found). */
  readonly gpu: GpuLike;
  /** What it did, in words, e.g. "VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json". */
  readonly setup: readonly string[];
}

/** glibc's and musl's RTLD_NODELETE (Node's os.constants.dlopen does not list it). */
const RTLD_NODELETE = 0x1000;

/**
 * Loads a shared library into the process for good, so that a later dlopen of its soname (Dawn's
 * `dlopen("libvulkan.so.1")`) finds it already loaded. `process.dlopen` then fails with "did not
 * self-register" (it is not a Node addon), but the library stays mapped thanks to RTLD_NODELETE.
 */
function loadSharedLibrary(nameOrPath: string): boolean {
  try {
    process.dlopen({ exports: {} }, nameOrPath, constants.dlopen.RTLD_NOW | RTLD_NODELETE);
    return true;
  } catch (e) {
    return /self-register/i.test(e instanceof Error ? e.message : String(e));
  }
}

function installNavigatorGpu(gpu: GpuLike): void {
  const g = globalThis as { navigator?: object };
  if (g.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  }
}

/**
 * Gives Node a `navigator.gpu` from the `webgpu` package (Dawn), plus WebGPU's globals
 * (GPUBufferUsage, …), as `@tensorflow/tfjs-backend-webgpu` needs them BEFORE it is imported.
 *
 * On Linux, when VK_ICD_FILENAMES is unset, it first asks the machine's own Vulkan driver (a real
 * GPU); if that gives no adapter it sets VK_ICD_FILENAMES to Chromium's SwiftShader ICD (see
 * {@link NodeWebGpuOptions.fallbackIcd}). A VK_ICD_FILENAMES set by the user is used as is.
 * When the system has no Vulkan loader (libvulkan.so.1, Debian `libvulkan1`) it loads the one
 * Chromium ships beside the ICD. Idempotent: an existing `navigator.gpu` is kept.
 *
 * @throws BackendInitError ("webgpu: no GPU adapter (…)") with what was tried
 */
export async function prepareNodeWebGpu(opts: NodeWebGpuOptions = {}): Promise<NodeWebGpu> {
  const existing = navigatorGpu();
  if (existing) return { gpu: existing, setup: ['navigator.gpu was already present'] };

  let webgpu: typeof import('webgpu');
  try {
    webgpu = await import('webgpu');
  } catch (e) {
    throw new BackendInitError('webgpu', `cannot load the 'webgpu' package (Dawn for Node): ${String(e)}`, { cause: e });
  }
  const flags = [...(opts.dawnFlags ?? [])];
  const setup: string[] = [];
  const tried: string[] = [];
  const linux = process.platform === 'linux';
  const userIcd = process.env['VK_ICD_FILENAMES'] ?? process.env['VK_DRIVER_FILES'];
  let haveLoader = !linux || loadSharedLibrary('libvulkan.so.1');

  /** Without a system Vulkan loader, loads the one Chromium ships beside its ICD. */
  const loaderBeside = (icd: string): boolean => {
    if (haveLoader) return true;
    const bundled = join(dirname(icd), 'libvulkan.so.1');
    haveLoader = existsSync(bundled) && loadSharedLibrary(bundled);
    if (haveLoader) setup.push(`Vulkan loader ${bundled} (the system has none)`);
    else tried.push(`no Vulkan loader (no system libvulkan.so.1, Debian: apt-get install libvulkan1; none beside ${icd})`);
    return haveLoader;
  };
  const adapterFrom = async (): Promise<GpuLike | undefined> => {
    const candidate = webgpu.create(flags) as unknown as GpuLike;
    return (await candidate.requestAdapter()) ? candidate : undefined;
  };

  // 1. The machine as configured: VK_ICD_FILENAMES if set, else its own Vulkan drivers (a GPU).
  let gpu: GpuLike | undefined;
  if (userIcd !== undefined) {
    if (!linux || loaderBeside(userIcd.split(':')[0] ?? userIcd)) {
      gpu = await adapterFrom();
      if (gpu) setup.push(`Vulkan ICD from the environment: ${userIcd}`);
      else tried.push(`VK_ICD_FILENAMES=${userIcd}: no adapter`);
    }
  } else if (haveLoader) {
    gpu = await adapterFrom();
    if (gpu) setup.push(linux ? 'system Vulkan driver' : 'system GPU driver');
    else tried.push('system Vulkan drivers: no adapter (no GPU, or only Mesa lavapipe, which Dawn rejects)');
  } else {
    tried.push('no system Vulkan loader (libvulkan.so.1; Debian: apt-get install libvulkan1)');
  }

  // 2. No GPU: SwiftShader, the CPU Vulkan driver that Chromium ships.
  if (!gpu && linux && userIcd === undefined && opts.fallbackIcd !== false) {
    const icd = opts.fallbackIcd ?? SWIFTSHADER_ICD_CANDIDATES.find((p) => existsSync(p));
    if (icd === undefined) {
      tried.push(`no SwiftShader ICD (looked for ${SWIFTSHADER_ICD_CANDIDATES.join(', ')}; Debian: apt-get install chromium)`);
    } else if (!existsSync(icd)) {
      tried.push(`no SwiftShader ICD at ${icd}`);
    } else {
      process.env['VK_ICD_FILENAMES'] = icd;
      setup.push(`VK_ICD_FILENAMES=${icd}`);
      if (loaderBeside(icd)) {
        gpu = await adapterFrom();
        if (!gpu) tried.push(`SwiftShader (${icd}): no adapter`);
      }
    }
  }
  if (!gpu) throw new BackendInitError('webgpu', `no GPU adapter (${tried.join('; ')})`);

  Object.assign(globalThis, webgpu.globals);
  installNavigatorGpu(gpu);
  return { gpu, setup };
}
