import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon';
import { rememberOriginal } from './heap';
import { convKernels } from './kernels/conv';
import { elementwiseKernels } from './kernels/elementwise';
import { identityKernels } from './kernels/identity';
import { matMulKernels } from './kernels/matMul';
import { poolKernels } from './kernels/pool';
import { trainingKernels } from './kernels/training';

/** Every kernel the addon provides, as tfjs kernel configs for the wasm backend. */
export function nativeKernelConfigs(addon: NativeAddon): KernelConfig[] {
  return [...convKernels(addon), ...poolKernels(addon), ...matMulKernels(addon), ...trainingKernels(addon), ...identityKernels(), ...elementwiseKernels(addon)];
}

/** The wasm kernels replaced (undefined where wasm had none), while native kernels are installed. */
let replaced: Map<string, KernelConfig | undefined> | undefined;

/**
 * Registers the native kernels on the wasm backend, replacing its own (kept, and used for the
 * cases the addon does not take). Idempotent.
 */
export function installNativeKernels(addon: NativeAddon): void {
  if (replaced) return;
  const saved = new Map<string, KernelConfig | undefined>();
  for (const k of nativeKernelConfigs(addon)) {
    const original = tf.getKernel(k.kernelName, 'wasm');
    saved.set(k.kernelName, original);
    rememberOriginal(k.kernelName, original?.kernelFunc);
    // Unregister first: registerKernel over an existing kernel only warns and overwrites.
    if (original) tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel(k);
  }
  replaced = saved;
}

/** Puts the wasm backend's own kernels back (tests compare the two in one process). */
export function uninstallNativeKernels(): void {
  if (!replaced) return;
  for (const [name, original] of replaced) {
    tf.unregisterKernel(name, 'wasm');
    if (original) tf.registerKernel(original);
    rememberOriginal(name, undefined);
  }
  replaced = undefined;
}

/** Whether {@link installNativeKernels} is in effect. */
export function nativeKernelsInstalled(): boolean {
  return replaced !== undefined;
}
