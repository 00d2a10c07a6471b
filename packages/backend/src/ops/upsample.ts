import * as tf from '@tensorflow/tfjs-core';
import type { GradSaveFunc, Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { OpArgumentError } from '../errors';

const OP = 'upsampleNearest';

/**
 * Nearest-neighbour resize of an NHWC batch to `size` (rows, cols), as
 * `tf.image.resizeNearestNeighbor(x, size)` (no corner alignment, no half-pixel centres). When
 * `size` is a whole multiple (fh, fw) of x's, every pixel is repeated fh × fw times and the
 * gradient, a sum over each fh × fw block, is one average pooling × fh·fw: tfjs-wasm's
 * ResizeNearestNeighborGrad takes ~7 ms on [4, 128, 128, 16] (1 thread), the pooling well under 1.
 * Other sizes take tfjs' op and its gradient.
 *
 * @throws OpArgumentError ("Error in upsampleNearest: …") for a rank other than 4 or a size below 1
 */
export function upsampleNearest(x: Tensor4D, size: readonly [number, number]): Tensor4D {
  if (x.rank !== 4) throw new OpArgumentError(OP, `x must be rank 4 (NHWC), but got rank ${x.rank}.`);
  if (!size.every((n) => Number.isInteger(n) && n >= 1)) throw new OpArgumentError(OP, `size must be positive integers, but got [${size.join(', ')}].`);
  const [, h, w] = x.shape;
  const fh = size[0] / h;
  const fw = size[1] / w;
  const target: [number, number] = [size[0], size[1]];
  if (!Number.isInteger(fh) || !Number.isInteger(fw)) return tf.image.resizeNearestNeighbor(x, target);
  if (fh === 1 && fw === 1) return x;
  const op = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const xi = args[0] as Tensor4D;
    return {
      value: tf.image.resizeNearestNeighbor(xi, target),
      gradFunc: (dy: Tensor4D) => tf.mul(tf.avgPool(dy, [fh, fw], [fh, fw], 'valid'), fh * fw),
    };
  });
  return op(x) as Tensor4D;
}
