// Test tooling, browser-safe: the shape tables our kernels are checked on, wherever they run.
export type { KernelCheck, KernelCheckResult } from './webgpuKernelChecks';
export { WEBGPU_KERNEL_CHECKS, checkWebGpuKernels, runKernelCheck } from './webgpuKernelChecks';
export type { KernelCheckPageResult } from './kernelCheckPage';
