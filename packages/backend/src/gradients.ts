import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from './errors';

/**
 * Kernels whose gradient functions come only from tfjs-core's `register_all_gradients` module:
 * if they are all registered, that module has run (here or through `@tensorflow/tfjs`).
 */
const PROBE_KERNELS = ['Sum', 'Conv2D', 'Relu', 'MaxPool', 'BatchMatMul'] as const;

/**
 * Whether tfjs-core's gradient functions are registered. `@tensorflow/tfjs-core` registers none
 * by itself (the `@tensorflow/tfjs` bundle does it); without them `tf.grad` fails with
 * "gradient function not found for Sum".
 */
export function gradientsRegistered(): boolean {
  return PROBE_KERNELS.every((k) => tf.getGradient(k) != null);
}

/**
 * Registers tfjs-core's gradient functions (`@tensorflow/tfjs-core/dist/register_all_gradients`)
 * once. Works wherever that ES module graph can be loaded: browser bundlers (vite, webpack,
 * esbuild) and vitest. Plain Node cannot load it as ESM (its imports have no file extensions);
 * there, use `registerNodeGradients` from `@tomosort/backend/node`, which loads it through
 * `require` (works under tsx).
 *
 * @throws BackendError when the module cannot be loaded
 */
export async function registerGradients(): Promise<void> {
  if (gradientsRegistered()) return;
  try {
    await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  } catch (e) {
    throw new BackendError(
      `could not load tfjs-core's gradient functions (@tensorflow/tfjs-core/dist/register_all_gradients): ` +
        `${e instanceof Error ? e.message : String(e)}. In Node use initNodeBackend / registerNodeGradients from @tomosort/backend/node.`,
      { cause: e },
    );
  }
  if (!gradientsRegistered()) {
    throw new BackendError(`tfjs-core's gradient module loaded but the gradients of ${PROBE_KERNELS.join(', ')} are still missing`);
  }
}
