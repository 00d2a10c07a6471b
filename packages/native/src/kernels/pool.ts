import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { PoolKind } from '../addon';
import type { KernelArgs } from '../heap';
import { allFloat32, heapOf, input, runOriginal, sizeOf } from '../heap';

/** The addon's pool params for a 2D geometry (depth 1). */
export function pool2dParams(c: backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize, c.inChannels, 1, c.inHeight, c.inWidth, 1, c.outHeight, c.outWidth,
    1, c.filterHeight, c.filterWidth, 1, c.strideHeight, c.strideWidth, 0, c.padInfo.top, c.padInfo.left, 1, c.dilationHeight, c.dilationWidth,
  ]);
}

/** The addon's pool params for a 3D geometry. */
export function pool3dParams(c: backend_util.Conv3DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize, c.inChannels, c.inDepth, c.inHeight, c.inWidth, c.outDepth, c.outHeight, c.outWidth,
    c.filterDepth, c.filterHeight, c.filterWidth, c.strideDepth, c.strideHeight, c.strideWidth,
    c.padInfo.front, c.padInfo.top, c.padInfo.left, c.dilationDepth, c.dilationHeight, c.dilationWidth,
  ]);
}

type Attrs = Record<string, unknown>;

/** MaxPool, AvgPool (2D and 3D) and their gradients, with tfjs' cpu semantics. */
export function poolKernels(addon: NativeAddon): KernelConfig[] {
  const info2d = (shape: readonly number[], a: Attrs) =>
    backend_util.computePool2DInfo(shape as never, a.filterSize as never, a.strides as never, 1, a.pad as never, a.dimRoundingMode as never);
  const info3d = (shape: readonly number[], a: Attrs) =>
    backend_util.computePool3DInfo(shape as never, a.filterSize as never, a.strides as never, 1, a.pad as never, a.dimRoundingMode as never);

  const forward = (name: string, kind: PoolKind, dims: 2 | 3) => (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const x = input(name, args.inputs, 'x');
    const a = (args.attrs ?? {}) as Attrs;
    if (!allFloat32(x) || (a.dataFormat !== undefined && a.dataFormat !== 'NDHWC' && a.dataFormat !== 'NHWC')) return runOriginal(name, args, 'non-float32 or channels-first input');
    const c = dims === 2 ? info2d(x.shape, a) : info3d(x.shape, a);
    const heap = heapOf(name, args.backend);
    const out = heap.output(c.outShape);
    if (sizeOf(c.outShape) === 0 || sizeOf(x.shape) === 0) return out;
    addon.pool(kind, heap.buffer(), dims === 2 ? pool2dParams(c as backend_util.Conv2DInfo) : pool3dParams(c as backend_util.Conv3DInfo), heap.at(x), -1, heap.at(out));
    return out;
  };

  const backward = (name: string, kind: PoolKind, dims: 2 | 3) => (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const dy = input(name, args.inputs, 'dy');
    const x = input(name, args.inputs, 'input');
    const a = (args.attrs ?? {}) as Attrs;
    if (!allFloat32(dy, x)) return runOriginal(name, args, 'non-float32 input');
    const c = dims === 2 ? info2d(x.shape, a) : info3d(x.shape, a);
    const heap = heapOf(name, args.backend);
    const out = heap.output([...x.shape]);
    if (sizeOf(x.shape) === 0) return out;
    const params = dims === 2 ? pool2dParams(c as backend_util.Conv2DInfo) : pool3dParams(c as backend_util.Conv3DInfo);
    addon.pool(kind, heap.buffer(), params, heap.at(dy), kind === PoolKind.MaxBackward ? heap.at(x) : -1, heap.at(out));
    return out;
  };

  const k = (kernelName: string, f: (args: KernelArgs) => TensorInfo | TensorInfo[]): KernelConfig => ({ kernelName, backendName: 'wasm', kernelFunc: f as never });
  return [
    k('MaxPool', forward('MaxPool', PoolKind.MaxForward, 2)),
    k('AvgPool', forward('AvgPool', PoolKind.AvgForward, 2)),
    k('MaxPoolGrad', backward('MaxPoolGrad', PoolKind.MaxBackward, 2)),
    k('AvgPoolGrad', backward('AvgPoolGrad', PoolKind.AvgBackward, 2)),
    k('MaxPool3D', forward('MaxPool3D', PoolKind.MaxForward, 3)),
    k('AvgPool3D', forward('AvgPool3D', PoolKind.AvgForward, 3)),
    k('MaxPool3DGrad', backward('MaxPool3DGrad', PoolKind.MaxBackward, 3)),
    k('AvgPool3DGrad', backward('AvgPool3DGrad', PoolKind.AvgBackward, 3)),
  ];
}
