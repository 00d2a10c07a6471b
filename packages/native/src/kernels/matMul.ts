import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import type { KernelArgs } from '../heap';
import { allFloat32, heapOf, input, runOriginal, sizeOf } from '../heap';

/** BatchMatMul (rank-3 inputs, as tf.matMul passes them) where one batch is 1 or both are equal. */
export function matMulKernels(addon: NativeAddon): KernelConfig[] {
  const batchMatMul = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const a = input('BatchMatMul', args.inputs, 'a');
    const b = input('BatchMatMul', args.inputs, 'b');
    const { transposeA = false, transposeB = false } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    if (!allFloat32(a, b) || a.shape.length !== 3 || b.shape.length !== 3) return runOriginal('BatchMatMul', args, 'non-float32 or not rank-3 input');
    const [batchA, a1, a2] = a.shape as [number, number, number];
    const [batchB, b1, b2] = b.shape as [number, number, number];
    const batch = Math.max(batchA, batchB);
    const [m, kA] = transposeA ? [a2, a1] : [a1, a2];
    const [kB, n] = transposeB ? [b2, b1] : [b1, b2];
    if (kA !== kB || (batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return runOriginal('BatchMatMul', args, 'shapes the native kernel does not take');
    if (kA === 0) return runOriginal('BatchMatMul', args, 'an empty inner dimension');
    const heap = heapOf('BatchMatMul', args.backend);
    const out = heap.output([batch, m, n]);
    if (sizeOf([batch, m, n]) === 0) return out;
    addon.matMul(heap.buffer(), heap.at(a), heap.at(b), heap.at(out), batch, batchA, batchB, m, n, kA, transposeA ? 1 : 0, transposeB ? 1 : 0);
    return out;
  };
  return [{ kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: batchMatMul as never }];
}
