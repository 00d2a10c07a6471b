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

  const info2d = (x: readonly number[], filter: readonly number[], a: Attrs, dilations: unknown) =>
    backend_util.computeConv2DInfo(x as never, filter as never, a.strides as never, dilations as never, a.pad as never, a.dimRoundingMode as never, false, 'channelsLast');
  const info3d = (x: readonly number[], filter: readonly number[], a: Attrs, dilations: unknown) =>
    backend_util.computeConv3DInfo(x as never, filter as never, a.strides as never, dilations as never, a.pad as never);

  /** One conv kernel: its two inputs (in the addon's a, b order), direction, and output geometry. */
  interface Route {
    readonly kernel: string;
    readonly inputs: readonly [string, string];
    readonly kind: ConvKind;
    readonly geometry: (a: TensorInfo, b: TensorInfo, attrs: Attrs) => { readonly out: number[]; readonly params: Int32Array };
  }
  const forward2d = (x: TensorInfo, f: TensorInfo, at: Attrs) => {
    const c = info2d(x.shape, f.shape, at, at.dilations);
    return { out: c.outShape, params: conv2dParams(c) };
  };
  const routes: Route[] = [
    { kernel: 'Conv2D', inputs: ['x', 'filter'], kind: ConvKind.Forward, geometry: forward2d },
    {
      kernel: 'Conv2DBackpropInput',
      inputs: ['dy', 'filter'],
      kind: ConvKind.BackwardData,
      geometry: (_dy, f, at) => ({ out: [...(at.inputShape as number[])], params: conv2dParams(info2d(at.inputShape as number[], f.shape, at, 1)) }),
    },
    {
      kernel: 'Conv2DBackpropFilter',
      inputs: ['x', 'dy'],
      kind: ConvKind.BackwardWeights,
      geometry: (x, _dy, at) => ({ out: [...(at.filterShape as number[])], params: conv2dParams(info2d(x.shape, at.filterShape as number[], at, 1)) }),
    },
    {
      kernel: 'Conv3D',
      inputs: ['x', 'filter'],
      kind: ConvKind.Forward,
      geometry: (x, f, at) => {
        const c = info3d(x.shape, f.shape, at, at.dilations);
        return { out: c.outShape, params: conv3dParams(c) };
      },
    },
    {
      kernel: 'Conv3DBackpropInputV2',
      inputs: ['dy', 'filter'],
      kind: ConvKind.BackwardData,
      geometry: (_dy, f, at) => ({ out: [...(at.inputShape as number[])], params: conv3dParams(info3d(at.inputShape as number[], f.shape, at, 1)) }),
    },
    {
      kernel: 'Conv3DBackpropFilterV2',
      inputs: ['x', 'dy'],
      kind: ConvKind.BackwardWeights,
      geometry: (x, _dy, at) => ({ out: [...(at.filterShape as number[])], params: conv3dParams(info3d(x.shape, at.filterShape as number[], at, 1)) }),
    },
  ];
  const kernelOf = (r: Route) => (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const a = input(r.kernel, args.inputs, r.inputs[0]);
    const b = input(r.kernel, args.inputs, r.inputs[1]);
    const at = attrsOf(args);
    if (nchw(at) || !allFloat32(a, b)) return runOriginal(r.kernel, args, 'channels-first or non-float32 input');
    const { out, params } = r.geometry(a, b, at);
    return run(r.kernel, r.kind, args, out, params, a, b);
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
    const { out, params } = forward2d(x, filter, a);
    return run('FusedConv2D', ConvKind.Forward, args, out, params, x, filter, bias, activation === 'relu');
  };

  return [
    ...routes.map((r): KernelConfig => ({ kernelName: r.kernel, backendName: 'wasm', kernelFunc: kernelOf(r) as never })),
    { kernelName: 'FusedConv2D', backendName: 'wasm', kernelFunc: fusedConv2D as never },
  ];
}
