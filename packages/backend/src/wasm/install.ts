import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { IDENTITY_KERNELS } from './identity';
import { originalWasmKernels } from './original';
import { SLICE_KERNELS } from './slice';

/** Puts our kernels in place of tfjs-wasm's slow ones (idempotent; `initBackend('wasm')` calls it). */
export function installWasmKernels(): void {
  const ours: readonly KernelConfig[] = [...IDENTITY_KERNELS, ...SLICE_KERNELS];
  for (const k of ours) {
    const current = tf.getKernel(k.kernelName, 'wasm');
    if (current?.kernelFunc === k.kernelFunc) continue;
    if (current) {
      originalWasmKernels.set(k.kernelName, current.kernelFunc);
      // Unregister first: registerKernel over an existing kernel only warns and overwrites.
      tf.unregisterKernel(k.kernelName, 'wasm');
    }
    tf.registerKernel(k);
  }
}
