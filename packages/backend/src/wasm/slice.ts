import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { originalWasmKernels } from './original';

type Typed = Float32Array | Int32Array | Uint8Array;

/**
 * Copies the [begin, begin + size) box of `x` (shape `shape`, row-major) into `out`: runs of the
 * last axis, each a subarray copy when long, a loop when short (a subarray costs more than a few values).
 */
function copyBox(x: Typed, shape: readonly number[], begin: readonly number[], size: readonly number[], out: Typed): void {
  const rank = shape.length;
  const strides = tf.util.computeStrides([...shape]);
  const inner = size[rank - 1]!;
  const runs = out.length / inner;
  const at = new Array<number>(Math.max(0, rank - 1)).fill(0);
  for (let r = 0; r < runs; r++) {
    let from = begin[rank - 1]!;
    for (let a = 0; a < rank - 1; a++) from += (begin[a]! + at[a]!) * strides[a]!;
    const to = r * inner;
    if (inner >= 32) out.set(x.subarray(from, from + inner), to);
    else for (let k = 0; k < inner; k++) out[to + k] = x[from + k]!;
    for (let a = rank - 2; a >= 0; a--) {
      if (++at[a]! < size[a]!) break;
      at[a] = 0;
    }
  }
}

/**
 * Slice for the wasm backend that reads only the box it copies. tfjs-wasm's own first copies
 * the whole input out of the heap (`readSync`), so slicing a depth tap out of a 3D U-Net's
 * 16 × 64² activations cost the whole tensor each time (~2 ms for a 256 KB part of 4 MB).
 */
const slice = ({ inputs, attrs, backend }: { inputs: { x?: TensorInfo }; attrs: { begin: number | number[]; size: number | number[] }; backend: object }): TensorInfo => {
  const x = inputs.x!;
  const b = backend as BackendWasm;
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size) as [number[], number[]];
  if (x.dtype === 'string') return originalWasmKernels.get(tf.Slice)!({ inputs, attrs, backend } as never) as TensorInfo;
  const out = b.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  // Views taken after makeOutput: allocating may grow (and detach) the heap.
  const xs = b.typedArrayFromHeap(x) as Typed;
  const os = b.typedArrayFromHeap(out) as Typed;
  if (x.shape.length === 0) os.set(xs);
  else copyBox(xs, x.shape, begin, size, os);
  return out;
};

/** SplitV as slices of the same kind (tfjs-wasm's calls its own slice directly). */
const splitV = ({ inputs, attrs, backend }: { inputs: { x?: TensorInfo }; attrs: { numOrSizeSplits: number | number[]; axis: number | number[] }; backend: object }): TensorInfo[] => {
  const x = inputs.x!;
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[axis] = s;
    const part = slice({ inputs: { x }, attrs: { begin: [...begin], size }, backend });
    begin[axis]! += s;
    return part;
  });
};

export const SLICE_KERNELS: readonly KernelConfig[] = [
  { kernelName: tf.Slice, backendName: 'wasm', kernelFunc: slice as unknown as KernelFunc },
  { kernelName: tf.SplitV, backendName: 'wasm', kernelFunc: splitV as unknown as KernelFunc },
];
