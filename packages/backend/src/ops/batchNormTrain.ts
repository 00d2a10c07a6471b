import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { activeReplicas, sumAcrossReplicas } from '@tomosort/replicas';
import type { ReplicaGroup } from '@tomosort/replicas';
import { OpArgumentError } from '../errors';
import type { BatchNormTrainAttrs } from '../kernels';
import { KernelName, tomosortKernelActive } from '../kernels';

const OP = 'batchNormTrain';

/** Options of {@link batchNormTrain}. */
export interface BatchNormTrainOptions {
  /** Default 1e-5 (PyTorch's). */
  readonly epsilon?: number;
  /** Apply ReLU to the result. Default false. */
  readonly relu?: boolean;
  /** Added before the ReLU (a ResNet block's shortcut), x's shape. */
  readonly residual?: Tensor;
}

/** {@link batchNormTrain}'s result. `mean` and `variance` are not differentiated through. */
export interface BatchNormTrainResult<T extends Tensor> {
  readonly y: T;
  /** Batch mean per channel, [C]. */
  readonly mean: tf.Tensor1D;
  /** Biased batch variance per channel, [C]. */
  readonly variance: tf.Tensor1D;
  /** Values per channel the statistics cover (on replicas: every replica's shard). */
  readonly count: number;
}

function registerGradientOnce(): void {
  if (tf.getGradient(KernelName.BatchNormTrain) != null) return;
  tf.registerGradient({
    kernelName: KernelName.BatchNormTrain,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [true, true, true],
    gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const dy = Array.isArray(dys) ? dys[0]! : dys;
      const [x, scale, y, mean, variance] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
      // One kernel gives every input's gradient; the tape asks for them one at a time.
      const [dx, dscale, doffset, dz] = tf.engine().runKernel(KernelName.BatchNormTrainGrad, { dy, x, scale, mean, variance, y }, attrs) as Tensor[];
      return { x: () => dx!, scale: () => dscale!, offset: () => doffset!, residual: () => dz! };
    },
  });
}

/**
 * Batch normalisation with the batch's statistics (training mode; Ioffe & Szegedy 2015) over the
 * last axis, fused with an optional residual add and ReLU:
 * `y = act(scale·(x − μ)/√(σ² + ε) + offset + residual)`, μ and σ² the per-channel mean and
 * biased variance over every other axis.
 *
 * Where tomosort's kernels run (native on wasm, WGSL on webgpu: {@link tomosortKernelActive}) this
 * is one kernel forward and one backward; elsewhere it is element-wise ops over strips of x (see
 * `stripsOf`) with one custom gradient (sums by pooling and a few element-wise ops; tfjs' own
 * batch-norm gradient tiles every [C] tensor to x's size, which cost ~40 % of a wasm fine-tuning
 * step). The gradient reaches x through μ and σ² as well.
 *
 * @param x [..., C] (rank ≥ 2), float32
 * @param scale γ, [C]
 * @param offset β, [C]
 * @throws OpArgumentError ("Error in batchNormTrain: …") for mismatched shapes or a single value per channel
 */
export function batchNormTrain<T extends Tensor>(x: T, scale: tf.Tensor1D, offset: tf.Tensor1D, options: BatchNormTrainOptions = {}): BatchNormTrainResult<T> {
  const epsilon = options.epsilon ?? 1e-5;
  const relu = options.relu ?? false;
  const { residual } = options;
  if (x.rank < 2) throw new OpArgumentError(OP, `x must have rank ≥ 2, but got rank ${x.rank}.`);
  const channels = x.shape[x.rank - 1]!;
  if (scale.size !== channels || offset.size !== channels) {
    throw new OpArgumentError(OP, `scale [${scale.shape.join(', ')}] and offset [${offset.shape.join(', ')}] must hold one value per channel (${channels}).`);
  }
  if (x.size / channels < 2) throw new OpArgumentError(OP, `training needs more than one value per channel, but x is [${x.shape.join(', ')}].`);
  if (residual && !tf.util.arraysEqual(residual.shape, x.shape)) {
    throw new OpArgumentError(OP, `residual [${residual.shape.join(', ')}] must have x's shape [${x.shape.join(', ')}].`);
  }
  // On replicas (data-parallel CPU threads) the statistics span every shard: the stock ops, with sums across replicas.
  const replicas = activeReplicas();
  if (tomosortKernelActive(KernelName.BatchNormTrain) && !replicas) {
    registerGradientOnce();
    const attrs: BatchNormTrainAttrs = { epsilon, relu, residual: residual !== undefined };
    const inputs: tf.NamedTensorMap = residual ? { x, scale, offset, residual } : { x, scale, offset };
    const [y, mean, variance] = tf.engine().runKernel(KernelName.BatchNormTrain, inputs, attrs as unknown as NamedAttrMap) as Tensor[];
    return { y: y as T, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D, count: x.size / channels };
  }
  // The stock ops run on x seen as strips (rows of w = k·C values, see stripsOf), so each
  // per-channel operand is a [w] row and every sum over rows is one pooling.
  const S = stripsOf(x);
  const xs = tf.reshape(x, [S.rows, S.width]) as tf.Tensor2D;
  // The statistics reach y only through the closure below, so the tape never differentiates
  // them (a gradient through tf.moments would build full-size tensors for nothing): the custom
  // gradient carries x's dependence through μ and σ² itself.
  const { mean, variance, n } = replicas ? momentsAcrossReplicas(S, xs, replicas) : { ...localMoments(S, xs), n: x.size / channels };
  const forward = (xi: Tensor, s: Tensor, o: Tensor, r: Tensor | undefined, save: (t: Tensor[]) => void) => {
    const inv = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.mul(tf.sub(tf.reshape(xi, [S.rows, S.width]), S.row(mean)), S.row(inv));
    let y: Tensor = tf.add(tf.mul(xhat, S.row(s)), S.row(o));
    if (r) y = tf.add(y, tf.reshape(r, [S.rows, S.width]));
    if (relu) y = tf.relu(y);
    save([xhat, inv, s, y]);
    return {
      value: tf.reshape(y, x.shape),
      gradFunc: (dyFull: Tensor, saved: Tensor[]): Tensor[] => {
        const [sxhat, sinv, sscale, sy] = saved as [Tensor, Tensor, Tensor, Tensor];
        const dy = tf.reshape(dyFull, [S.rows, S.width]);
        // Through the ReLU, then the standard batch-statistics backward:
        // dβ = Σ g, dγ = Σ g·x̂, dx = γ/√(σ²+ε) · (g − dβ/n − x̂·dγ/n).
        const g = relu ? tf.mul(dy, tf.step(sy)) : dy;
        const dOffset = S.sum(g);
        const dScale = S.sum(tf.mul(g, sxhat));
        // On replicas x's gradient needs the sums over every shard; γ's and β's stay this shard's (the loop sums parameter gradients).
        const [allOffset, allScale] = replicas ? (tf.split(sumAcrossReplicas(tf.concat([dOffset, dScale])), 2) as [Tensor, Tensor]) : [dOffset, dScale];
        const dx = tf.mul(S.row(tf.mul(sscale, sinv)), tf.sub(tf.sub(g, S.row(tf.div(allOffset, n))), tf.mul(sxhat, S.row(tf.div(allScale, n)))));
        return [tf.reshape(dx, x.shape), dScale, dOffset, ...(r ? [tf.reshape(g, x.shape)] : [])];
      },
    };
  };
  // customGrad passes the inputs, then `save`: 3 inputs, or 4 with the residual.
  const y = tf.customGrad((...a: (Tensor | tf.GradSaveFunc)[]) => {
    const [xi, s, o, r] = a.slice(0, -1) as Tensor[];
    return forward(xi!, s!, o!, r, a.at(-1) as tf.GradSaveFunc);
  })(...(residual ? [x, scale, offset, residual] : [x, scale, offset]));
  return { y: y as T, mean, variance, count: n };
}

/**
 * A channels-last tensor of M·C values seen as `rows` strips of `width` = k·C values (k rows of
 * C channels side by side: the largest k ≤ ⌈{@link STRIP_WIDTH} / C⌉ that divides M).
 * Per-channel operands are rows of `width` (a [C] vector repeated k times), and a sum over
 * every row of channels is one average pooling (of the strips seen as a rows × k image of C
 * channels, × M for a sum). Why, on
 * tfjs-wasm (1 thread): its element-wise ops broadcast a [C] vector over [M, C] ~9× slower
 * than over [M/32, 32·C] at C = 8; over [2048, 256] its Sum along the rows takes 3.9 ms (a
 * transpose first), a matMul by ones 1.2 ms (it packs the data as weights), the pooling 0.16 ms.
 */
interface Strips {
  readonly rows: number;
  readonly width: number;
  readonly channels: number;
  /** A [C] vector as one strip row [width]. */
  row(v: Tensor): Tensor;
  /** Mean over every row of channels of a [rows, width] tensor: [C]. */
  mean(t: Tensor): tf.Tensor1D;
  /** Σ over every row of channels: [C]. */
  sum(t: Tensor): tf.Tensor1D;
}

/** Strip width aimed at: wide enough for the element-wise kernels' vector loops. */
const STRIP_WIDTH = 256;

function stripsOf(x: Tensor): Strips {
  const channels = x.shape[x.rank - 1]!;
  const m = x.size / channels;
  let k = Math.min(m, Math.max(1, Math.ceil(STRIP_WIDTH / channels)));
  while (m % k !== 0) k--;
  const rows = m / k;
  const width = k * channels;
  // The strips as a rows × k image of C channels: one pooling window over all of it.
  const mean = (t: Tensor) => tf.reshape(tf.avgPool(tf.reshape(t, [1, rows, k, channels]) as tf.Tensor4D, [rows, k], 1, 'valid'), [channels]) as tf.Tensor1D;
  return {
    rows,
    width,
    channels,
    row: (v) => (k === 1 ? v : tf.tile(v, [k])),
    mean,
    sum: (t) => tf.mul(mean(t), m) as tf.Tensor1D,
  };
}

/** This shard's per-channel mean and biased variance (two passes: Σ x, then Σ (x − μ)²). */
function localMoments(S: Strips, xs: tf.Tensor2D): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const mean = S.mean(xs);
  return { mean, variance: S.mean(tf.square(tf.sub(xs, S.row(mean)))) };
}

/**
 * Mean and biased variance over every replica's shard in one exchange: each replica's count, mean
 * and variance, combined in float64 as Chan et al. do (M2 = Σ n_r (σ²_r + (m_r − m)²)), the same
 * way on every replica.
 */
function momentsAcrossReplicas(S: Strips, xs: tf.Tensor2D, group: ReplicaGroup): { mean: tf.Tensor1D; variance: tf.Tensor1D; n: number } {
  const { mean, variance } = localMoments(S, xs);
  const channels = mean.size;
  const mine = new Float32Array(1 + 2 * channels);
  mine[0] = xs.size / channels;
  mine.set(mean.dataSync() as Float32Array, 1);
  mine.set(variance.dataSync() as Float32Array, 1 + channels);
  const all = group.gather(mine);
  const n = all.reduce((t, r) => t + r[0]!, 0);
  const m = new Float64Array(channels);
  for (const r of all) for (let c = 0; c < channels; c++) m[c]! += (r[0]! * r[1 + c]!) / n;
  const m2 = new Float64Array(channels);
  for (const r of all) {
    for (let c = 0; c < channels; c++) {
      const d = r[1 + c]! - m[c]!;
      m2[c]! += r[0]! * (r[1 + channels + c]! + d * d);
    }
  }
  return { mean: tf.tensor1d(Float32Array.from(m)), variance: tf.tensor1d(Float32Array.from(m2, (v) => v / n)), n };
}

/** tf.batchNorm takes rank ≤ 4 (and webgpu broadcasts up to rank 4): a 5D (3D-image) batch is normalised as [rows, C], the same sums. */
function asRows(x: Tensor): Tensor {
  return x.rank > 4 ? tf.reshape(x, [-1, x.shape[x.rank - 1]!]) : x;
}

/**
 * Batch normalisation with given statistics (the running ones at inference, the batch's in the
 * composite training path), over the last axis of any rank ≥ 2, then `+ residual`, then ReLU:
 * `act(scale·(x − mean)/√(variance + ε) + offset + residual)`. Stock tfjs ops, differentiable.
 */
export function batchNormWith<T extends Tensor>(x: T, mean: tf.Tensor1D, variance: tf.Tensor1D, scale: tf.Tensor1D, offset: tf.Tensor1D, options: BatchNormTrainOptions = {}): T {
  const flat = asRows(x);
  let y = tf.batchNorm(flat, mean, variance, offset, scale, options.epsilon ?? 1e-5) as Tensor;
  if (flat !== x) y = tf.reshape(y, x.shape);
  if (options.residual) y = tf.add(y, options.residual);
  if (options.relu) y = tf.relu(y);
  return y as T;
}
