import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { NativeKernelError } from './errors';

/** What tfjs passes a kernel. */
export interface KernelArgs {
  readonly inputs: NamedTensorInfoMap;
  readonly backend: object;
  readonly attrs?: NamedAttrMap;
}

/**
 * The tfjs-wasm heap as the addon sees it: an ArrayBuffer and byte offsets. Take `buffer()` only
 * after every `makeOutput` of the kernel: allocating may grow the heap and detach the old buffer.
 */
export class Heap {
  constructor(readonly backend: BackendWasm) {}

  buffer(): ArrayBuffer {
    // Emscripten's HEAPU8 (its typings leave it out).
    return (this.backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer;
  }

  /** Byte offset of a tensor's data. */
  at(t: TensorInfo): number {
    return this.backend.getMemoryOffset(t.dataId);
  }

  /** Byte offset, or −1 for an absent tensor. */
  atOr(t: TensorInfo | undefined): number {
    return t ? this.at(t) : -1;
  }

  output(shape: number[]): TensorInfo {
    return this.backend.makeOutput(shape, 'float32');
  }
}

/** The wasm backend a kernel runs on (native kernels are registered for 'wasm' only). */
export function heapOf(kernel: string, backend: object): Heap {
  const b = backend as Partial<BackendWasm>;
  if (typeof b.getMemoryOffset !== 'function' || !b.wasm) throw new NativeKernelError(kernel, 'runs on the wasm backend only');
  return new Heap(backend as BackendWasm);
}

/** The tensor input `name` (a NativeKernelError when it is missing). */
export function input(kernel: string, inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new NativeKernelError(kernel, `input ${name} is missing`);
  return t;
}

export const allFloat32 = (...ts: (TensorInfo | undefined)[]): boolean => ts.every((t) => t === undefined || t.dtype === 'float32');

export const sizeOf = (shape: readonly number[]): number => tf.util.sizeFromShape(shape as number[]);

/**
 * The wasm kernels the native ones replaced (undefined where wasm had none), while the native
 * kernels are installed: put back on uninstall, and run for what the addon does not take (NCHW,
 * other dtypes). The registry fills and empties it.
 */
export const replacedKernels = new Map<string, KernelConfig | undefined>();

/** Runs the wasm backend's own kernel, or throws when wasm has none (e.g. Conv2DBackpropFilter). */
export function runOriginal(kernelName: string, args: KernelArgs, why: string): TensorInfo | TensorInfo[] {
  const f = replacedKernels.get(kernelName)?.kernelFunc;
  if (!f) throw new NativeKernelError(kernelName, `${why}, and the wasm backend has no ${kernelName} kernel to fall back on`);
  return f(args as Parameters<KernelFunc>[0]);
}
