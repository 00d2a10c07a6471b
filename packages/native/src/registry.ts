import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon';
import { replacedKernels } from './heap';
import { convKernels } from './kernels/conv';
import { elementwiseKernels } from './kernels/elementwise';
import { matMulKernels } from './kernels/matMul';
import { poolKernels } from './kernels/pool';
import { resizeKernels } from './kernels/resize';
import { trainingKernels } from './kernels/training';

/** Every kernel the addon provides, as tfjs kernel configs for the wasm backend. */
export function nativeKernelConfigs(addon: NativeAddon): KernelConfig[] {
  return [...convKernels(addon), ...poolKernels(addon), ...resizeKernels(addon), ...matMulKernels(addon), ...trainingKernels(addon), ...elementwiseKernels(addon)];
}

/**
 * Registers the native kernels on the wasm backend, replacing its own (kept in
 * `replacedKernels`, and used for the cases the addon does not take). Idempotent.
 */
export function installNativeKernels(addon: NativeAddon): void {
  if (replacedKernels.size > 0) return;
  for (const k of nativeKernelConfigs(addon)) {
    const original = tf.getKernel(k.kernelName, 'wasm');
    replacedKernels.set(k.kernelName, original);
    // Unregister first: registerKernel over an existing kernel only warns and overwrites.
    if (original) tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel(k);
  }
}

/** Puts the wasm backend's own kernels back (tests compare the two in one process). */
export function uninstallNativeKernels(): void {
  for (const [name, original] of replacedKernels) {
    tf.unregisterKernel(name, 'wasm');
    if (original) tf.registerKernel(original);
  }
  replacedKernels.clear();
}

/** Whether {@link installNativeKernels} is in effect. */
export function nativeKernelsInstalled(): boolean {
  return replacedKernels.size > 0;
}
