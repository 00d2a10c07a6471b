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

export const IDENTITY_KERNELS: readonly KernelConfig[] = [{ kernelName: tf.Identity, backendName: 'wasm', kernelFunc: identity as unknown as KernelFunc }];
