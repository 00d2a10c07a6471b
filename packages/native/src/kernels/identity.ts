import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../heap';
import { heapOf, input } from '../heap';

/**
 * Identity without a copy. tfjs clones every tensor it saves for the backward pass
 * (`engine.saveTensorsForBackwardMode`), and the wasm Identity kernel copies the bytes (~400
 * copies of activations per ResNet-18 step); tensors are immutable, so sharing the data with a
 * reference count, as the cpu backend and wasm's own Reshape do, is the same result.
 */
export function identityKernels(): KernelConfig[] {
  const identity = (args: KernelArgs): TensorInfo => {
    const x = input('Identity', args.inputs, 'x');
    heapOf('Identity', args.backend).backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  return [{ kernelName: 'Identity', backendName: 'wasm', kernelFunc: identity as never }];
}
