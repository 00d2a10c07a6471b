import * as tf from '@tensorflow/tfjs-core';
import { batchNormTrain, batchNormWith, conv3d } from '@tomosort/backend';
import { ModelError } from './errors';
import { kaimingNormalConv, ones, torchDefault, zeros } from './init';
import { conv2d } from './ops';
import type { ConvGradients, Params } from './params';

/**
 * Batch-norm running-statistic updates collected during a training forward pass, to be assigned
 * after the optimiser step ({@link StatUpdates.commit}) instead of inside the gradient tape.
 *
 * Several forward passes may feed one collector (e.g. the two views of SimCLR): each update
 * starts from the latest pending value, so the result equals applying them in order, as PyTorch
 * does. The pending tensors are kept (`tf.keep`) and survive `tf.tidy`/`tf.variableGrads`.
 */
export class StatUpdates {
  readonly #pending = new Map<tf.Variable, tf.Tensor[]>();

  /** The value a new update of `v` starts from: the latest pending one, else the variable. */
  current(v: tf.Variable): tf.Tensor {
    return this.#pending.get(v)?.at(-1) ?? v;
  }

  /** Queues `value` (kept from the enclosing tidy) as the new value of `v`. */
  push(v: tf.Variable, value: tf.Tensor): void {
    const list = this.#pending.get(v) ?? [];
    list.push(tf.keep(value));
    this.#pending.set(v, list);
  }

  /** Number of variables with a pending update. */
  get size(): number {
    return this.#pending.size;
  }

  /** Assigns the latest value of every pending update and frees the queue. */
  commit(): void {
    for (const [v, list] of this.#pending) {
      const last = list.at(-1);
      if (last) v.assign(last);
      for (const t of list) t.dispose();
    }
    this.#pending.clear();
  }

  /** Frees the queue without assigning anything. */
  discard(): void {
    for (const list of this.#pending.values()) for (const t of list) t.dispose();
    this.#pending.clear();
  }
}

/** How a forward pass runs. */
export interface ApplyOptions {
  /**
   * true: batch norm normalises with the batch's statistics and updates the running ones;
   * false: it uses the running statistics (inference).
   */
  readonly training: boolean;
  /**
   * Where batch norm puts its running-statistic updates in training. Absent: they are assigned
   * during the forward pass (`Variable.assign` is not recorded on the gradient tape, so the
   * update is never differentiated). Given: they wait there until `commit()`.
   */
  readonly statUpdates?: StatUpdates;
}

/** Settings of a {@link Conv2d}. */
export interface Conv2dConfig {
  /** Square kernel size, odd. */
  readonly kernel: number;
  readonly inC: number;
  readonly outC: number;
  /** Default 1. */
  readonly stride?: number;
  /** Add a bias (default false: a batch norm follows). */
  readonly bias?: boolean;
  /**
   * `kaiming` (default): N(0, 2/fan_out), as torchvision's ResNet; `torch`: PyTorch's default
   * U(±1/√fan_in) for weight and bias (used for classifier convs).
   */
  readonly init?: 'kaiming' | 'torch';
}

/**
 * 2D convolution, NHWC: `[N, H, W, inC]` → `[N, ⌈H/s⌉, ⌈W/s⌉, outC]`, filter `name/w`
 * `[k, k, inC, outC]`, optional bias `name/b` `[outC]`.
 *
 * Padding is PyTorch's symmetric (k−1)/2. For stride 1 that is tf's 'same'; for stride > 1 tf's
 * 'same' would pad only bottom/right and shift the sampling grid by one pixel against the 1×1
 * stride-2 shortcut, so the conv is given the explicit symmetric padding instead.
 */
export class Conv2d {
  readonly w: tf.Variable;
  readonly b: tf.Variable | undefined;
  readonly kernel: number;
  readonly stride: number;
  readonly #gradients: ConvGradients;

  constructor(params: Params, name: string, config: Conv2dConfig) {
    this.#gradients = params.convGradients;
    const { kernel, inC, outC, stride = 1, bias = false, init = 'kaiming' } = config;
    if (kernel % 2 !== 1) throw new ModelError(`${name}: kernel must be odd, got ${kernel}`);
    const shape = [kernel, kernel, inC, outC];
    this.kernel = kernel;
    this.stride = stride;
    this.w = params.add(`${name}/w`, shape, init === 'kaiming' ? kaimingNormalConv(shape) : torchDefault(kernel * kernel * inC));
    this.b = bias ? params.add(`${name}/b`, [outC], init === 'kaiming' ? zeros : torchDefault(kernel * kernel * inC)) : undefined;
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return this.applyJoined([x]);
  }

  /**
   * The conv of `parts` joined along the channel axis (a U-Net's upsampled map and its skip),
   * without joining them: Σ_i conv(part_i, w[:, :, channels of part i]). Same sums, no
   * channel-axis Concat forward and no SplitV backward, copies tfjs-wasm runs slowly.
   */
  applyJoined(parts: readonly tf.Tensor4D[]): tf.Tensor4D {
    // stride 1: 'same' is symmetric for odd kernels; stride > 1: PyTorch's (k − 1)/2 on every side
    const pad = this.stride > 1 ? (this.kernel - 1) / 2 : 'same';
    const y = sumOverParts(parts, this.w, (part, w) => conv2d(part, w as tf.Tensor4D, this.stride, pad, 1, this.#gradients));
    return this.b ? tf.add<tf.Tensor4D>(y, this.b) : y;
  }
}

/** Σ over parts of `conv(part, the filter's input channels of that part)` (filter's input channels on its second-to-last axis). */
function sumOverParts<T extends tf.Tensor>(parts: readonly T[], w: tf.Tensor, conv: (part: T, w: tf.Tensor) => T): T {
  const [inC, outC] = w.shape.slice(-2) as [number, number];
  const total = parts.reduce((n, p) => n + p.shape[p.rank - 1]!, 0);
  if (total !== inC) throw new ModelError(`conv: the parts have ${total} channels in all, the filter takes ${inC}`);
  if (parts.length === 1) return conv(parts[0]!, w);
  // Sliced as [taps, inC, outC]: a slice's gradient is a pad, which tfjs-backend-webgpu 4.22
  // gets wrong above rank 4 (a 3D filter is rank 5).
  const taps = tf.reshape(w, [-1, inC, outC]);
  let from = 0;
  let sum: T | undefined;
  for (const part of parts) {
    const c = part.shape[part.rank - 1]!;
    const y = conv(part, tf.reshape(tf.slice(taps, [0, from, 0], [-1, c, outC]), [...w.shape.slice(0, -2), c, outC]));
    sum = sum ? (tf.add(sum, y) as T) : y;
    from += c;
  }
  return sum!;
}

/**
 * 3D convolution, NDHWC: `[N, D, H, W, inC]` → `[N, ⌈D/s⌉, ⌈H/s⌉, ⌈W/s⌉, outC]`, filter `name/w`
 * `[k, k, k, inC, outC]`, optional bias `name/b` (default none: a batch norm follows),
 * initialised as {@link Conv2d}. Padding (k − 1)/2 on every side, as PyTorch's
 * Conv3d(padding=k//2), so strided convs sample the same grid as the 1×1×1 strided shortcut.
 */
export class Conv3d {
  readonly w: tf.Variable;
  readonly b: tf.Variable | undefined;
  readonly kernel: number;
  readonly stride: number | readonly [number, number, number];

  /** `stride` may be per axis, [depth, height, width]. */
  constructor(params: Params, name: string, config: Omit<Conv2dConfig, 'stride'> & { readonly stride?: number | readonly [number, number, number] }) {
    const { kernel, inC, outC, stride = 1, bias = false, init = 'kaiming' } = config;
    if (kernel % 2 !== 1) throw new ModelError(`${name}: kernel must be odd, got ${kernel}`);
    const shape = [kernel, kernel, kernel, inC, outC];
    this.kernel = kernel;
    this.stride = stride;
    const fanIn = kernel ** 3 * inC;
    this.w = params.add(`${name}/w`, shape, init === 'kaiming' ? kaimingNormalConv(shape) : torchDefault(fanIn));
    this.b = bias ? params.add(`${name}/b`, [outC], init === 'kaiming' ? zeros : torchDefault(fanIn)) : undefined;
  }

  apply(x: tf.Tensor5D): tf.Tensor5D {
    return this.applyJoined([x]);
  }

  /** As {@link Conv2d.applyJoined}: the conv of `parts` joined along the channel axis, without joining them. */
  applyJoined(parts: readonly tf.Tensor5D[]): tf.Tensor5D {
    const y = sumOverParts(parts, this.w, (part, w) => conv3d(part, w as tf.Tensor5D, this.stride, (this.kernel - 1) / 2));
    if (!this.b) return y;
    // Added over [rows, C]: tfjs-backend-webgpu 4.22 cannot broadcast above rank 4.
    return tf.reshape(tf.add(tf.reshape(y, [-1, y.shape[4]]), this.b), y.shape);
  }
}

/**
 * Batch normalisation (Ioffe & Szegedy 2015) over the last axis of `[N, H, W, C]` or `[N, C]`:
 * y = γ·(x − μ)/√(σ² + ε) + β. Variables `name/gamma` (1), `name/beta` (0), and the non-trainable
 * running statistics `name/mean` (0), `name/var` (1).
 *
 * Training: μ, σ² are the batch's (biased) moments and the running statistics move as in PyTorch:
 * r ← (1 − momentum)·r + momentum·b, with the unbiased batch variance for `var`.
 * Inference: the running statistics are used.
 */
export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly mean: tf.Variable;
  readonly variance: tf.Variable;

  constructor(
    params: Params,
    readonly name: string,
    channels: number,
    /** PyTorch's momentum convention (weight of the new batch). Default 0.1. */
    readonly momentum = 0.1,
    readonly epsilon = 1e-5,
  ) {
    this.gamma = params.add(`${name}/gamma`, [channels], ones);
    this.beta = params.add(`${name}/beta`, [channels], zeros);
    this.mean = params.add(`${name}/mean`, [channels], zeros, false);
    this.variance = params.add(`${name}/var`, [channels], ones, false);
  }

  /**
   * Normalises `x`, then adds `fuse.residual` and applies ReLU when asked:
   * `act(bn(x) + residual)`. In training this is one `batchNormTrain` (one native kernel each way
   * where native kernels run); in inference, `tf.batchNorm` with the running statistics.
   */
  apply<T extends tf.Tensor2D | tf.Tensor4D | tf.Tensor5D>(x: T, options: ApplyOptions, fuse: BatchNormFuse = {}): T {
    if (!options.training) {
      return batchNormWith(x, this.mean as tf.Tensor1D, this.variance as tf.Tensor1D, this.gamma as tf.Tensor1D, this.beta as tf.Tensor1D, { epsilon: this.epsilon, ...fuse });
    }
    const channels = x.shape[x.rank - 1] ?? 1;
    const n = x.size / channels;
    if (n < 2) {
      throw new ModelError(`${this.name}: batch norm in training needs more than one value per channel, got input [${x.shape.join(',')}]`);
    }
    const { y, mean, variance, count } = batchNormTrain(x, this.gamma as tf.Tensor1D, this.beta as tf.Tensor1D, { epsilon: this.epsilon, ...fuse });
    const m = this.momentum;
    const sink = options.statUpdates;
    const newMean = tf.add(tf.mul(sink ? sink.current(this.mean) : this.mean, 1 - m), tf.mul(mean, m));
    const newVar = tf.add(tf.mul(sink ? sink.current(this.variance) : this.variance, 1 - m), tf.mul(variance, (m * count) / (count - 1)));
    if (sink) {
      sink.push(this.mean, newMean);
      sink.push(this.variance, newVar);
    } else {
      this.mean.assign(newMean);
      this.variance.assign(newVar);
    }
    return y;
  }
}

/** What a {@link BatchNorm} may fuse after the normalisation: a residual add, then ReLU. */
export interface BatchNormFuse {
  readonly relu?: boolean;
  /** Same shape as the input. */
  readonly residual?: tf.Tensor;
}

/** Fully connected: `[N, in]` → `[N, out]`, weight `name/w` `[in, out]`, bias `name/b` `[out]`; PyTorch's default init. */
export class Linear {
  readonly w: tf.Variable;
  readonly b: tf.Variable | undefined;

  constructor(params: Params, name: string, inF: number, outF: number, bias = true) {
    this.w = params.add(`${name}/w`, [inF, outF], torchDefault(inF));
    this.b = bias ? params.add(`${name}/b`, [outF], torchDefault(inF)) : undefined;
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    const y: tf.Tensor2D = tf.matMul(x, this.w as tf.Tensor2D);
    return this.b ? tf.add<tf.Tensor2D>(y, this.b) : y;
  }
}

/**
 * A GRU cell (Cho et al. 2014), PyTorch's gate layout and initialisation (uniform ±1/√hidden):
 *   r = σ(x·W_r + b_ir + h·U_r + b_hr),  z = σ(x·W_z + b_iz + h·U_z + b_hz),
 *   n = tanh(x·W_n + b_in + r ⊙ (h·U_n + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h.
 * Variables `name/wi` [in, 3H] and `name/wh` [H, 3H] (gates r, z, n side by side), `name/bi`, `name/bh` [3H].
 */
export class Gru {
  readonly #wi: tf.Variable;
  readonly #wh: tf.Variable;
  readonly #bi: tf.Variable;
  readonly #bh: tf.Variable;
  constructor(
    params: Params,
    name: string,
    inF: number,
    readonly hidden: number,
  ) {
    const init = torchDefault(hidden);
    this.#wi = params.add(`${name}/wi`, [inF, 3 * hidden], init);
    this.#wh = params.add(`${name}/wh`, [hidden, 3 * hidden], init);
    this.#bi = params.add(`${name}/bi`, [3 * hidden], init);
    this.#bh = params.add(`${name}/bh`, [3 * hidden], init);
  }

  /** One step: x [N, in], h [N, H] → h' [N, H]. */
  step(x: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
    const gi = tf.add(tf.matMul(x, this.#wi as tf.Tensor2D), this.#bi);
    const gh = tf.add(tf.matMul(h, this.#wh as tf.Tensor2D), this.#bh);
    const [ir, iz, inn] = tf.split(gi, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const [hr, hz, hn] = tf.split(gh, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const r = tf.sigmoid(tf.add(ir, hr));
    const z = tf.sigmoid(tf.add(iz, hz));
    const n = tf.tanh(tf.add(inn, tf.mul(r, hn)));
    return tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
  }

  /** The last state after the sequence `xs` (each [N, in]), from h = 0. */
  run(xs: readonly tf.Tensor2D[]): tf.Tensor2D {
    let h = tf.zeros([xs[0]!.shape[0], this.hidden]) as tf.Tensor2D;
    for (const x of xs) h = this.step(x, h);
    return h;
  }
}
