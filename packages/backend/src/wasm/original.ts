import type { KernelFunc } from '@tensorflow/tfjs-core';

/** tfjs-wasm's own kernels that ours replaced (`installWasmKernels`): a case ours does not take runs them. */
export const originalWasmKernels = new Map<string, KernelFunc>();
