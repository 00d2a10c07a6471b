import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import type { KernelArgs } from '../heap';
import { allFloat32, heapOf, input, runOriginal, sizeOf } from '../heap';

const OPS = { Add: 0, Multiply: 1, Sub: 2 } as const;

/**
 * Add, Multiply and Sub on float32 tensors of one shape, or one of them a single value: the
 * backward pass's gradient sums and the clipping scale, on all threads (wasm's run on one).
 * Any other broadcast or dtype goes to wasm's kernel.
 */
export function elementwiseKernels(addon: NativeAddon): KernelConfig[] {
  return (Object.keys(OPS) as (keyof typeof OPS)[]).map((name) => {
    const kernelFunc = (args: KernelArgs): TensorInfo | TensorInfo[] => {
      const a = input(name, args.inputs, 'a');
      const b = input(name, args.inputs, 'b');
      if (!allFloat32(a, b)) return runOriginal(name, args, 'non-float32 input');
      const shape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const n = sizeOf(shape);
      const aScalar = sizeOf(a.shape) === 1 && n !== 1;
      const bScalar = sizeOf(b.shape) === 1 && n !== 1;
      if ((!aScalar && sizeOf(a.shape) !== n) || (!bScalar && sizeOf(b.shape) !== n) || n === 0) return runOriginal(name, args, 'a broadcast the native kernel does not take');
      const heap = heapOf(name, args.backend);
      const out = heap.output(shape);
      addon.binary(OPS[name], heap.buffer(), heap.at(a), heap.at(b), heap.at(out), n, aScalar ? 1 : 0, bScalar ? 1 : 0);
      return out;
    };
    return { kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as never };
  });
}
