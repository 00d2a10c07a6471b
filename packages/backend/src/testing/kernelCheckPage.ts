// A browser entry (bundled by @tomosort/viewer's testing tools): the WebGPU kernel table in a page.
import { initBackend } from '../backends';
import { checkWebGpuKernels } from './webgpuKernelChecks';
import type { KernelCheckResult } from './webgpuKernelChecks';

export interface KernelCheckPageResult {
  /** The webgpu backend's line and adapter, e.g. "webgpu (SwiftShader)". */
  readonly backend: string;
  readonly adapter: string;
  readonly checks: readonly KernelCheckResult[];
}

(globalThis as { tomosortCheckKernels?: () => Promise<KernelCheckPageResult> }).tomosortCheckKernels = async () => {
  await initBackend('cpu');
  const gpu = await initBackend('webgpu');
  return { backend: gpu.label, adapter: gpu.adapter ?? '', checks: await checkWebGpuKernels() };
};
