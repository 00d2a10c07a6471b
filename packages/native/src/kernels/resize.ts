import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { PoolKind } from '../addon';
import type { KernelArgs } from '../heap';
import { allFloat32, heapOf, input, runOriginal, sizeOf } from '../heap';

/**
 * The gradient of nearest-neighbour upsampling by whole factors (the U-Net decoder's ×2): each
 * input pixel was copied to an f × g block, so its gradient is the block's sum — an average pool
 * (f × g, stride f × g) times f·g. tfjs-wasm has no kernel for it and runs tfjs' generic one in JS
 * (134 ms of an 860 ms ResNet-18 U-Net step at 128², batch 8). Other geometries (fractional
 * factors, aligned corners, half-pixel centres) run the original kernel.
 */
export function resizeKernels(addon: NativeAddon): KernelConfig[] {
  const name = 'ResizeNearestNeighborGrad';
  const grad = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const images = input(name, args.inputs, 'images');
    const dy = input(name, args.inputs, 'dy');
    const a = (args.attrs ?? {}) as { alignCorners?: boolean; halfPixelCenters?: boolean };
    const [n, inH, inW, c] = images.shape as [number, number, number, number];
    const [, outH, outW] = dy.shape as [number, number, number, number];
    const f = outH / inH;
    const g = outW / inW;
    const whole = images.shape.length === 4 && Number.isInteger(f) && Number.isInteger(g) && f >= 1 && g >= 1;
    if (!whole || a.alignCorners === true || a.halfPixelCenters === true || !allFloat32(dy)) {
      return runOriginal(name, args, 'a fractional factor, aligned corners, half-pixel centres or non-float32 input');
    }
    const heap = heapOf(name, args.backend);
    const out = heap.output([n, inH, inW, c]);
    if (sizeOf(out.shape) === 0) return out;
    // Pool params as pool2dParams lays them out: batch, channels, depth 1, in H W, out H W, filter, stride, no padding, dilation 1.
    const params = Int32Array.from([n, c, 1, outH, outW, 1, inH, inW, 1, f, g, 1, f, g, 0, 0, 0, 1, 1, 1]);
    addon.pool(PoolKind.AvgForward, heap.buffer(), params, heap.at(dy), -1, heap.at(out));
    const values = new Float32Array(heap.buffer(), heap.at(out), sizeOf(out.shape));
    const blockSize = f * g;
    for (let i = 0; i < values.length; i++) values[i]! *= blockSize;
    return out;
  };
  return [{ kernelName: name, backendName: 'wasm', kernelFunc: grad as never }];
}
