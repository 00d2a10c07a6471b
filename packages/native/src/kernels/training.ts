import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { KernelName } from '@tomosort/backend';
import type { AdamAttrs, BatchNormTrainAttrs } from '@tomosort/backend';
import type { NativeAddon } from '../addon';
import { NativeKernelError } from '../errors';
import type { KernelArgs } from '../heap';
import { allFloat32, heapOf, input, sizeOf } from '../heap';

/** tomosort's fused training kernels: batch norm (+ residual + ReLU) forward and backward, Adam. */
export function trainingKernels(addon: NativeAddon): KernelConfig[] {
  const batchNormTrain = (args: KernelArgs): TensorInfo[] => {
    const name = KernelName.BatchNormTrain;
    const x = input(name, args.inputs, 'x');
    const scale = input(name, args.inputs, 'scale');
    const offset = input(name, args.inputs, 'offset');
    const residual = args.inputs.residual;
    const a = args.attrs as unknown as BatchNormTrainAttrs;
    if (!allFloat32(x, scale, offset, residual)) throw new NativeKernelError(name, 'takes float32 only');
    const channels = x.shape[x.shape.length - 1]!;
    const heap = heapOf(name, args.backend);
    const y = heap.output([...x.shape]);
    const mean = heap.output([channels]);
    const variance = heap.output([channels]);
    addon.batchNormTrain(heap.buffer(), heap.at(x), heap.at(scale), heap.at(offset), heap.atOr(residual), heap.at(y), heap.at(mean), heap.at(variance), sizeOf(x.shape) / channels, channels, a.epsilon, a.relu ? 1 : 0);
    return [y, mean, variance];
  };

  const batchNormTrainGrad = (args: KernelArgs): TensorInfo[] => {
    const name = KernelName.BatchNormTrainGrad;
    const [dy, x, scale, mean, variance, y] = (['dy', 'x', 'scale', 'mean', 'variance', 'y'] as const).map((n) => input(name, args.inputs, n)) as [TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo];
    const a = args.attrs as unknown as BatchNormTrainAttrs;
    if (!allFloat32(dy, x, scale, mean, variance, y)) throw new NativeKernelError(name, 'takes float32 only');
    const channels = x.shape[x.shape.length - 1]!;
    const heap = heapOf(name, args.backend);
    const dx = heap.output([...x.shape]);
    const dscale = heap.output([channels]);
    const doffset = heap.output([channels]);
    const dz = heap.output(a.residual ? [...x.shape] : [0]);
    addon.batchNormTrainGrad(heap.buffer(), heap.at(dy), heap.at(x), heap.at(scale), heap.at(mean), heap.at(variance), a.relu ? heap.at(y) : -1, heap.at(dx), heap.at(dscale), heap.at(doffset), a.residual ? heap.at(dz) : -1, sizeOf(x.shape) / channels, channels, a.epsilon, a.relu ? 1 : 0);
    return [dx, dscale, doffset, dz];
  };

  const adamUpdate = (args: KernelArgs): TensorInfo[] => {
    const name = KernelName.AdamUpdate;
    const [v, m, s, g] = (['variable', 'm', 's', 'gradient'] as const).map((n) => input(name, args.inputs, n)) as [TensorInfo, TensorInfo, TensorInfo, TensorInfo];
    if (!allFloat32(v, m, s, g)) throw new NativeKernelError(name, 'takes float32 only');
    const a = args.attrs as unknown as AdamAttrs;
    const heap = heapOf(name, args.backend);
    const outs = [heap.output([...v.shape]), heap.output([...v.shape]), heap.output([...v.shape])] as const;
    const n = sizeOf(v.shape);
    if (n > 0) {
      addon.adam(heap.buffer(), heap.at(v), heap.at(m), heap.at(s), heap.at(g), heap.at(outs[0]), heap.at(outs[1]), heap.at(outs[2]), n, a.learningRate, a.beta1, a.beta2, a.epsilon, a.step, a.weightDecay);
    }
    return [...outs];
  };

  return [
    { kernelName: KernelName.BatchNormTrain, backendName: 'wasm', kernelFunc: batchNormTrain as never },
    { kernelName: KernelName.BatchNormTrainGrad, backendName: 'wasm', kernelFunc: batchNormTrainGrad as never },
    { kernelName: KernelName.AdamUpdate, backendName: 'wasm', kernelFunc: adamUpdate as never },
  ];
}
