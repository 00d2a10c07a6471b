import * as tf from '@tensorflow/tfjs-core';
import type { GradSaveFunc, Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { OpArgumentError } from '../errors';
import { nativeKernelsActive } from '../kernels';
import type { Conv2DGeometry, Conv2DPad, Pair } from './conv2d';
import { windowGeometry } from './conv2d';

const OP = 'maxPool';

/**
 * Input gradient of max pooling, in plain JavaScript: each output's gradient goes to the first
 * (row-major) maximum of its window, exactly as tfjs' cpu kernel and TensorFlow route it. Padding
 * never wins; a window of NaNs passes no gradient.
 *
 * @param x input values [batch, inH, inW, c] (NHWC, row-major)
 * @param dy output gradient [batch, outH, outW, c]
 * @returns dx [batch, inH, inW, c]
 */
export function maxPoolBackpropValues(x: Float32Array, dy: Float32Array, g: Conv2DGeometry): Float32Array {
  const { batch, inH, inW, inC: c, outH, outW, fh, fw, strideH, strideW, top, left } = g;
  const dx = new Float32Array(batch * inH * inW * c);
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < outH; i++) {
      for (let j = 0; j < outW; j++) {
        best.fill(-Infinity);
        at.fill(-1);
        for (let a = 0; a < fh; a++) {
          const r = i * strideH + a - top;
          if (r < 0 || r >= inH) continue;
          for (let b = 0; b < fw; b++) {
            const col = j * strideW + b - left;
            if (col < 0 || col >= inW) continue;
            const base = ((n * inH + r) * inW + col) * c;
            for (let k = 0; k < c; k++) {
              const v = x[base + k]!;
              if (v > best[k]!) {
                best[k] = v;
                at[k] = base + k;
              }
            }
          }
        }
        const dyBase = ((n * outH + i) * outW + j) * c;
        for (let k = 0; k < c; k++) {
          const p = at[k]!;
          if (p >= 0) dx[p] = dx[p]! + dy[dyBase + k]!;
        }
      }
    }
  }
  return dx;
}

/**
 * Max pooling (NHWC) whose gradient is right on every backend.
 *
 * The forward pass is `tf.maxPool`. The wasm backend's MaxPoolGrad kernel (tfjs 4.22) starts its
 * running maximum at `std::numeric_limits<float>::min()`, the smallest positive float rather than
 * the lowest: a window whose maximum is ≤ 1.2e-38 sends its gradient to element 0 of the tensor or
 * nowhere, and ties go to the last maximum. (After a ReLU that only touches all-zero windows,
 * whose gradient the ReLU kills anyway; on signed inputs the stock gradient is wrong.) On wasm the
 * backward pass here is {@link maxPoolBackpropValues} over the tensors' values (reading wasm
 * memory is synchronous, no GPU read-back); forward + backward of a 3×3/2 pool on [16,64,64,64]
 * takes ~100 ms against the stock kernel's ~135 ms. On other backends it is their own MaxPoolGrad
 * kernel (cpu's is correct; webgpu's agrees with cpu in the tests).
 *
 * @param x input [batch, height, width, channels], float32
 * @param filterSize window, one number or [rows, cols]
 * @param strides one number or [rows, cols]
 * @param pad 'same', 'valid' or a symmetric number of pixels (padding never wins)
 * @returns [batch, outHeight, outWidth, channels]
 * @throws OpArgumentError ("Error in maxPool: …")
 */
export function maxPool(x: Tensor4D, filterSize: Pair, strides: Pair, pad: Conv2DPad): Tensor4D {
  if (x.rank !== 4) throw new OpArgumentError(OP, `x must be rank 4, but got rank ${x.rank}.`);
  if (x.dtype !== 'float32') throw new OpArgumentError(OP, `x must be float32, but got ${x.dtype}.`);
  const f: [number, number] = typeof filterSize === 'number' ? [filterSize, filterSize] : [filterSize[0], filterSize[1]];
  if (!f.every((n) => Number.isInteger(n) && n > 0)) {
    throw new OpArgumentError(OP, `filterSize must be positive integers, but got [${f.join(', ')}].`);
  }
  const c = x.shape[3];
  const g = windowGeometry(OP, x.shape, [f[0], f[1], c, c], strides, pad);
  const attrs = { filterSize: [g.fh, g.fw], strides: [g.strideH, g.strideW], pad: g.pad };
  const op = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [xi, save] = args as [Tensor4D, GradSaveFunc];
    const value = tf.maxPool(xi, [g.fh, g.fw], [g.strideH, g.strideW], g.pad);
    save([xi, value]);
    const gradFunc = (dy: Tensor4D, saved: Tensor[]): Tensor => {
      const [xs, ys] = saved as [Tensor4D, Tensor4D];
      if (tf.getBackend() === 'wasm' && !nativeKernelsActive()) {
        const dx = maxPoolBackpropValues(xs.dataSync() as Float32Array, dy.dataSync() as Float32Array, g);
        return tf.tensor4d(dx, xs.shape);
      }
      return tf.engine().runKernel('MaxPoolGrad', { dy, input: xs, output: ys }, attrs);
    };
    return { value, gradFunc };
  });
  return op(x);
}
