import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Identity without a copy, for the wasm backend. tfjs clones every tensor it saves for the
 * backward pass (`engine.saveTensorsForBackwardMode`), and tfjs-wasm's Identity copies the bytes
 * (~770 clones in a 128² U-Net fine-tuning step, ~400 activations in a ResNet-18 one); tensors are
 * immutable (a variable's assign swaps its data), so sharing the data with a reference count,
 * as the cpu and webgpu backends and wasm's own Reshape do, gives the same result.
 */
const identity = ({ inputs, backend }: { inputs: { x?: TensorInfo }; backend: object }): TensorInfo => {
  const x = inputs.x!;
  (backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

const CONFIG: KernelConfig = { kernelName: tf.Identity, backendName: 'wasm', kernelFunc: identity as unknown as KernelFunc };

/** Puts the copy-free Identity in place of tfjs-wasm's (idempotent; `initBackend('wasm')` calls it). */
export function installWasmIdentity(): void {
  if (tf.getKernel(tf.Identity, 'wasm')?.kernelFunc === CONFIG.kernelFunc) return;
  // Unregister first: registerKernel over an existing kernel only warns and overwrites.
  if (tf.getKernel(tf.Identity, 'wasm')) tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel(CONFIG);
}
