import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { ConvGeometry3D } from './convGemm';
import { convGemm, gemmPlan } from './convGemm';
import { KernelName } from '../kernels';
import { MAX_WORKGROUPS_PER_DIMENSION } from './program';
import { trainingKernelFuncs } from './training';

/**
 * tomosort's WGSL kernels for tfjs' `webgpu` backend, registered in place of tfjs' slow ones.
 * Each group can be switched back to tfjs' own (`useWebGpuKernels`), so a benchmark can show
 * what each one gains.
 */
export const WEBGPU_KERNEL_GROUPS = ['conv2dBackpropFilter', 'conv2dBackpropInput', 'conv3d', 'batchNormTrain', 'adamUpdate'] as const;
export type WebGpuKernelGroup = (typeof WEBGPU_KERNEL_GROUPS)[number];

const GROUP_KERNELS: Readonly<Record<WebGpuKernelGroup, readonly string[]>> = {
  conv2dBackpropFilter: [tf.Conv2DBackpropFilter],
  conv2dBackpropInput: [tf.Conv2DBackpropInput],
  conv3d: [tf.Conv3D, tf.Conv3DBackpropFilterV2, tf.Conv3DBackpropInputV2],
  // tomosort's own kernels: without ours, batchNormTrain and adamUpdate compose stock ops.
  batchNormTrain: [KernelName.BatchNormTrain, KernelName.BatchNormTrainGrad],
  adamUpdate: [KernelName.AdamUpdate],
};

/** tfjs' own kernels that ours replaced, to fall back on for a case ours does not take and to restore. */
const stock = new Map<string, KernelConfig | undefined>();
const active = new Set<WebGpuKernelGroup>();

type Shape5 = [number, number, number, number, number];

function geometry3d(info: tf.backend_util.Conv3DInfo): ConvGeometry3D {
  return {
    batch: info.batchSize,
    inD: info.inDepth,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outD: info.outDepth,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    fD: info.filterDepth,
    fH: info.filterHeight,
    fW: info.filterWidth,
    sD: info.strideDepth,
    sH: info.strideHeight,
    sW: info.strideWidth,
    dD: info.dilationDepth,
    dH: info.dilationHeight,
    dW: info.dilationWidth,
    pD: info.padInfo.front,
    pH: info.padInfo.top,
    pW: info.padInfo.left,
  };
}

function geometry2d(info: tf.backend_util.Conv2DInfo): ConvGeometry3D {
  return {
    batch: info.batchSize,
    inD: 1,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outD: 1,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    fD: 1,
    fH: info.filterHeight,
    fW: info.filterWidth,
    sD: 1,
    sH: info.strideHeight,
    sW: info.strideWidth,
    dD: 1,
    dH: info.dilationHeight,
    dW: info.dilationWidth,
    pD: 0,
    pH: info.padInfo.top,
    pW: info.padInfo.left,
  };
}

/** Whether every dispatch dimension of the form fits WebGPU's limit (else tfjs' kernel runs). */
function fits(form: Parameters<typeof gemmPlan>[0], g: ConvGeometry3D): boolean {
  return gemmPlan(form, g).dispatch.every((d) => d <= MAX_WORKGROUPS_PER_DIMENSION);
}

function fallback(name: string, args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const k = stock.get(name);
  if (!k) throw new Error(`webgpu: no stock ${name} kernel to fall back on`);
  return k.kernelFunc(args);
}

const configs: Readonly<Record<string, KernelFunc>> = {
  ...trainingKernelFuncs,
  [tf.Conv2DBackpropFilter]: (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const format = tf.backend_util.convertConv2DDataFormat(dataFormat);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, format);
    const g = geometry2d(info);
    if (format !== 'channelsLast' || !fits('filter', g)) return fallback(tf.Conv2DBackpropFilter, args);
    return convGemm(args.backend as WebGPUBackend, 'filter', g, x, dy, filterShape);
  },
  [tf.Conv2DBackpropInput]: (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const format = tf.backend_util.convertConv2DDataFormat(dataFormat);
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, format);
    const g = geometry2d(info);
    if (format !== 'channelsLast' || !fits('input', g)) return fallback(tf.Conv2DBackpropInput, args);
    return convGemm(args.backend as WebGPUBackend, 'input', g, dy, filter, inputShape);
  },
  [tf.Conv3D]: (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const { strides, pad, dilations, dataFormat } = args.attrs as unknown as tf.Conv3DAttrs;
    const info = tf.backend_util.computeConv3DInfo(x.shape as Shape5, filter.shape as Shape5, strides, dilations, pad);
    const g = geometry3d(info);
    if (dataFormat !== 'NDHWC' || !fits('forward', g)) return fallback(tf.Conv3D, args);
    return convGemm(args.backend as WebGPUBackend, 'forward', g, x, filter, info.outShape);
  },
  [tf.Conv3DBackpropFilterV2]: (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, filterShape } = args.attrs as unknown as tf.Conv3DBackpropFilterV2Attrs;
    const g = geometry3d(tf.backend_util.computeConv3DInfo(x.shape as Shape5, filterShape, strides, 1, pad));
    if (!fits('filter', g)) return fallback(tf.Conv3DBackpropFilterV2, args);
    return convGemm(args.backend as WebGPUBackend, 'filter', g, x, dy, filterShape);
  },
  [tf.Conv3DBackpropInputV2]: (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, inputShape } = args.attrs as unknown as tf.Conv3DBackpropInputV2Attrs;
    const g = geometry3d(tf.backend_util.computeConv3DInfo(inputShape, filter.shape as Shape5, strides, 1, pad));
    if (!fits('input', g)) return fallback(tf.Conv3DBackpropInputV2, args);
    return convGemm(args.backend as WebGPUBackend, 'input', g, dy, filter, inputShape);
  },
};

/**
 * Chooses which of our kernel groups run on the webgpu backend: `'all'` (what `initBackend('webgpu')`
 * installs), `'none'` (tfjs' own kernels only), or a list. Call after the webgpu backend is
 * registered; takes effect for the next op.
 */
export function useWebGpuKernels(groups: 'all' | 'none' | readonly WebGpuKernelGroup[]): void {
  const wanted = new Set<WebGpuKernelGroup>(groups === 'all' ? WEBGPU_KERNEL_GROUPS : groups === 'none' ? [] : groups);
  for (const group of WEBGPU_KERNEL_GROUPS) {
    const on = wanted.has(group);
    if (on === active.has(group)) continue;
    for (const name of GROUP_KERNELS[group]) {
      if (on) {
        if (!stock.has(name)) stock.set(name, tf.getKernel(name, 'webgpu'));
        // Unregister first: registerKernel over an existing kernel only warns and overwrites.
        if (tf.getKernel(name, 'webgpu')) tf.unregisterKernel(name, 'webgpu');
        tf.registerKernel({ kernelName: name, backendName: 'webgpu', kernelFunc: configs[name]! });
      } else {
        tf.unregisterKernel(name, 'webgpu');
        const original = stock.get(name);
        if (original) tf.registerKernel(original);
      }
    }
    if (on) active.add(group);
    else active.delete(group);
  }
}

/** Whether our kernel group runs on the active backend (it is webgpu, and the group is in use). */
export function webGpuKernelActive(group: WebGpuKernelGroup): boolean {
  return tf.getBackend() === 'webgpu' && active.has(group);
}

/** The groups in use, for reports ("ours: conv2dBackpropFilter, conv3d"). */
export function webGpuKernelsInUse(): readonly WebGpuKernelGroup[] {
  return WEBGPU_KERNEL_GROUPS.filter((g) => active.has(g));
}
