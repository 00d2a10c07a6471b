import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { ConvKind } from '../addon';
import type { KernelArgs } from '../heap';
import { allFloat32, heapOf, input, runOriginal, sizeOf } from '../heap';

/** Trailing padding that makes oneDNN's output size exactly tfjs' (negative when trailing inputs are never read). */
const after = (out: number, stride: number, effective: number, size: number, before: number): number => (out - 1) * stride + effective - size - before;

/** The addon's conv params for a tfjs 2D conv geometry (channels-last). */
export function conv2dParams(c: backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    2, c.batchSize, c.inChannels, c.outChannels,
    c.inHeight, c.inWidth, 1,
    c.filterHeight, c.filterWidth, 1,
    c.outHeight, c.outWidth, 1,
    c.strideHeight, c.strideWidth, 1,
    c.dilationHeight, c.dilationWidth, 1,
    c.padInfo.top, c.padInfo.left, 0,
    after(c.outHeight, c.strideHeight, c.effectiveFilterHeight, c.inHeight, c.padInfo.top),
    after(c.outWidth, c.strideWidth, c.effectiveFilterWidth, c.inWidth, c.padInfo.left),
    0,
  ]);
}

/** The addon's conv params for a tfjs 3D conv geometry (NDHWC). */
export function conv3dParams(c: backend_util.Conv3DInfo): Int32Array {
  return Int32Array.from([
    3, c.batchSize, c.inChannels, c.outChannels,
    c.inDepth, c.inHeight, c.inWidth,
    c.filterDepth, c.filterHeight, c.filterWidth,
    c.outDepth, c.outHeight, c.outWidth,
    c.strideDepth, c.strideHeight, c.strideWidth,
    c.dilationDepth, c.dilationHeight, c.dilationWidth,
    c.padInfo.front, c.padInfo.top, c.padInfo.left,
    after(c.outDepth, c.strideDepth, c.effectiveFilterDepth, c.inDepth, c.padInfo.front),
    after(c.outHeight, c.strideHeight, c.effectiveFilterHeight, c.inHeight, c.padInfo.top),
    after(c.outWidth, c.strideWidth, c.effectiveFilterWidth, c.inWidth, c.padInfo.left),
  ]);
}

type Attrs = Record<string, unknown>;
const attrsOf = (args: KernelArgs): Attrs => (args.attrs ?? {}) as Attrs;
const nchw = (a: Attrs): boolean => a.dataFormat === 'NCHW' || a.dataFormat === 'NCDHW' || a.dataFormat === 'channelsFirst';

/** Conv2D, FusedConv2D (bias + relu/linear), Conv2DBackpropInput/Filter, Conv3D and its V2 backprops. */
export function convKernels(addon: NativeAddon): KernelConfig[] {
  const run = (name: string, kind: ConvKind, args: KernelArgs, outShape: number[], params: Int32Array, a: TensorInfo, b: TensorInfo, bias?: TensorInfo, relu = false): TensorInfo => {
    const heap = heapOf(name, args.backend);
    const out = heap.output(outShape);
    if (sizeOf(outShape) === 0 || sizeOf(a.shape) === 0 || sizeOf(b.shape) === 0) return out;
    addon.conv(kind, heap.buffer(), params, heap.at(a), heap.at(b), heap.atOr(bias), heap.at(out), relu ? 1 : 0);
    return out;
  };

  const conv2D = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const x = input('Conv2D', args.inputs, 'x');
    const filter = input('Conv2D', args.inputs, 'filter');
    const a = attrsOf(args);
    if (nchw(a) || !allFloat32(x, filter)) return runOriginal('Conv2D', args, 'NCHW or non-float32 input');
    const c = backend_util.computeConv2DInfo(x.shape as never, filter.shape as never, a.strides as never, a.dilations as never, a.pad as never, a.dimRoundingMode as never, false, 'channelsLast');
    return run('Conv2D', ConvKind.Forward, args, c.outShape, conv2dParams(c), x, filter);
  };

  const fusedConv2D = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const x = input('FusedConv2D', args.inputs, 'x');
    const filter = input('FusedConv2D', args.inputs, 'filter');
    const bias = args.inputs.bias;
    const a = attrsOf(args);
    const activation = (a.activation as string | undefined) ?? 'linear';
    const outC = filter.shape[3]!;
    const supported = !nchw(a) && allFloat32(x, filter, bias) && (activation === 'linear' || activation === 'relu') && !args.inputs.preluActivationWeights && (!bias || sizeOf(bias.shape) === outC);
    if (!supported) return runOriginal('FusedConv2D', args, `activation ${activation}, NCHW or a broadcast bias`);
    const c = backend_util.computeConv2DInfo(x.shape as never, filter.shape as never, a.strides as never, a.dilations as never, a.pad as never, a.dimRoundingMode as never, false, 'channelsLast');
    return run('FusedConv2D', ConvKind.Forward, args, c.outShape, conv2dParams(c), x, filter, bias, activation === 'relu');
  };

  const backpropInput = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const dy = input('Conv2DBackpropInput', args.inputs, 'dy');
    const filter = input('Conv2DBackpropInput', args.inputs, 'filter');
    const a = attrsOf(args);
    if (nchw(a) || !allFloat32(dy, filter)) return runOriginal('Conv2DBackpropInput', args, 'NCHW or non-float32 input');
    const inputShape = a.inputShape as [number, number, number, number];
    const c = backend_util.computeConv2DInfo(inputShape, filter.shape as never, a.strides as never, 1, a.pad as never, a.dimRoundingMode as never, false, 'channelsLast');
    return run('Conv2DBackpropInput', ConvKind.BackwardData, args, [...inputShape], conv2dParams(c), dy, filter);
  };

  const backpropFilter = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const x = input('Conv2DBackpropFilter', args.inputs, 'x');
    const dy = input('Conv2DBackpropFilter', args.inputs, 'dy');
    const a = attrsOf(args);
    if (nchw(a) || !allFloat32(x, dy)) return runOriginal('Conv2DBackpropFilter', args, 'NCHW or non-float32 input');
    const filterShape = a.filterShape as [number, number, number, number];
    const c = backend_util.computeConv2DInfo(x.shape as never, filterShape, a.strides as never, 1, a.pad as never, a.dimRoundingMode as never, false, 'channelsLast');
    return run('Conv2DBackpropFilter', ConvKind.BackwardWeights, args, [...filterShape], conv2dParams(c), x, dy);
  };

  const conv3D = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const x = input('Conv3D', args.inputs, 'x');
    const filter = input('Conv3D', args.inputs, 'filter');
    const a = attrsOf(args);
    if (nchw(a) || !allFloat32(x, filter)) return runOriginal('Conv3D', args, 'NCDHW or non-float32 input');
    const c = backend_util.computeConv3DInfo(x.shape as never, filter.shape as never, a.strides as never, a.dilations as never, a.pad as never);
    return run('Conv3D', ConvKind.Forward, args, c.outShape, conv3dParams(c), x, filter);
  };

  const conv3DBackpropInput = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const dy = input('Conv3DBackpropInputV2', args.inputs, 'dy');
    const filter = input('Conv3DBackpropInputV2', args.inputs, 'filter');
    const a = attrsOf(args);
    if (!allFloat32(dy, filter)) return runOriginal('Conv3DBackpropInputV2', args, 'non-float32 input');
    const inputShape = a.inputShape as [number, number, number, number, number];
    const c = backend_util.computeConv3DInfo(inputShape, filter.shape as never, a.strides as never, 1, a.pad as never);
    return run('Conv3DBackpropInputV2', ConvKind.BackwardData, args, [...inputShape], conv3dParams(c), dy, filter);
  };

  const conv3DBackpropFilter = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const x = input('Conv3DBackpropFilterV2', args.inputs, 'x');
    const dy = input('Conv3DBackpropFilterV2', args.inputs, 'dy');
    const a = attrsOf(args);
    if (!allFloat32(x, dy)) return runOriginal('Conv3DBackpropFilterV2', args, 'non-float32 input');
    const filterShape = a.filterShape as [number, number, number, number, number];
    const c = backend_util.computeConv3DInfo(x.shape as never, filterShape, a.strides as never, 1, a.pad as never);
    return run('Conv3DBackpropFilterV2', ConvKind.BackwardWeights, args, [...filterShape], conv3dParams(c), x, dy);
  };

  return [
    { kernelName: 'Conv2D', backendName: 'wasm', kernelFunc: conv2D as never },
    { kernelName: 'FusedConv2D', backendName: 'wasm', kernelFunc: fusedConv2D as never },
    { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: backpropInput as never },
    { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: backpropFilter as never },
    { kernelName: 'Conv3D', backendName: 'wasm', kernelFunc: conv3D as never },
    { kernelName: 'Conv3DBackpropInputV2', backendName: 'wasm', kernelFunc: conv3DBackpropInput as never },
    { kernelName: 'Conv3DBackpropFilterV2', backendName: 'wasm', kernelFunc: conv3DBackpropFilter as never },
  ];
}
