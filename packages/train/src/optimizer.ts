import * as tf from '@tensorflow/tfjs-core';
import { adamUpdate } from '@tomosort/backend';
import { TrainError } from './errors';

/** Optimiser settings. */
export type OptimizerConfig =
  /** Adam (Kingma & Ba 2015) with decoupled weight decay (AdamW, Loshchilov & Hutter 2019) when `weightDecay` > 0. */
  | { readonly kind: 'adam'; readonly beta1?: number; readonly beta2?: number; readonly epsilon?: number; readonly weightDecay?: number }
  /** SGD with (heavy-ball) momentum and L2 weight decay. */
  | { readonly kind: 'sgd'; readonly momentum?: number; readonly weightDecay?: number };

/** Optimiser state as plain arrays, for checkpoints: per variable name, its slot tensors' values. */
export interface OptimizerState {
  readonly kind: OptimizerConfig['kind'];
  readonly step: number;
  readonly slots: Readonly<Record<string, readonly Float32Array[]>>;
}

/**
 * A first-order optimiser over named variables. Its state (moments, step count) is explicit so
 * a checkpoint can save and restore it exactly; the learning rate is given at each step so any
 * schedule applies.
 */
export class Optimizer {
  #step = 0;
  readonly #slots = new Map<string, tf.Variable[]>();

  constructor(readonly config: OptimizerConfig) {}

  get step(): number {
    return this.#step;
  }

  #slotsFor(name: string, v: tf.Variable, count: number): tf.Variable[] {
    let s = this.#slots.get(name);
    if (!s) {
      s = Array.from({ length: count }, () => tf.variable(tf.zerosLike(v), false));
      this.#slots.set(name, s);
    }
    return s;
  }

  /** Applies one update with learning rate `lr`. `grads[name]` belongs to `vars[name]`; missing gradients are skipped. */
  apply(vars: Readonly<Record<string, tf.Variable>>, grads: Readonly<Record<string, tf.Tensor>>, lr: number): void {
    this.#step += 1;
    const t = this.#step;
    const c = this.config;
    tf.tidy(() => {
      for (const [name, v] of Object.entries(vars)) {
        const g = grads[name];
        if (!g) continue;
        if (c.kind === 'adam') {
          const [m, s] = this.#slotsFor(name, v, 2) as [tf.Variable, tf.Variable];
          const next = adamUpdate(v, m, s, g, {
            learningRate: lr,
            beta1: c.beta1 ?? 0.9,
            beta2: c.beta2 ?? 0.999,
            epsilon: c.epsilon ?? 1e-8,
            step: t,
            weightDecay: c.weightDecay ?? 0,
          });
          m.assign(next.m);
          s.assign(next.s);
          v.assign(next.variable);
        } else {
          const mom = c.momentum ?? 0.9;
          const grad = c.weightDecay ? tf.add(g, tf.mul(v, c.weightDecay)) : g;
          if (mom > 0) {
            const [buf] = this.#slotsFor(name, v, 1) as [tf.Variable];
            buf.assign(tf.add(tf.mul(buf, mom), grad));
            v.assign(tf.sub(v, tf.mul(buf, lr)));
          } else {
            v.assign(tf.sub(v, tf.mul(grad, lr)));
          }
        }
      }
    });
  }

  async getState(): Promise<OptimizerState> {
    const slots: Record<string, Float32Array[]> = {};
    for (const [name, s] of this.#slots) slots[name] = await Promise.all(s.map(async (x) => (await x.data()) as Float32Array));
    return { kind: this.config.kind, step: this.#step, slots };
  }

  /** Restores state saved by getState; variables are matched by name and shape. */
  setState(state: OptimizerState, vars: Readonly<Record<string, tf.Variable>>): void {
    if (state.kind !== this.config.kind) throw new TrainError(`optimizer state is for ${state.kind}, this optimizer is ${this.config.kind}`);
    this.dispose();
    this.#step = state.step;
    for (const [name, values] of Object.entries(state.slots)) {
      const v = vars[name];
      if (!v) throw new TrainError(`optimizer state holds slots for unknown variable ${name}`);
      this.#slots.set(
        name,
        values.map((a) => {
          if (a.length !== v.size) throw new TrainError(`optimizer slot for ${name} holds ${a.length} values, the variable ${v.size}`);
          return tf.variable(tf.tensor(a, v.shape, 'float32'), false);
        }),
      );
    }
  }

  dispose(): void {
    for (const s of this.#slots.values()) s.forEach((x) => x.dispose());
    this.#slots.clear();
  }
}

/**
 * Sum of many scalars as a balanced tree of two-input adds. Not tf.addN: its WebGPU kernel binds
 * every input as a storage buffer, and a model's ~100 gradients exceed the per-stage limit (8 by
 * default), which made the pipeline invalid and the clipped gradients garbage on WebGPU.
 */
function sumScalars(xs: tf.Tensor[]): tf.Tensor {
  if (xs.length === 0) return tf.scalar(0);
  let level = xs;
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? tf.add(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

/**
 * Scales gradients so their global L2 norm is at most `maxNorm` (Pascanu et al. 2013).
 * Returns the new gradients (caller disposes) and the norm before clipping.
 */
export function clipByGlobalNorm(grads: Readonly<Record<string, tf.Tensor>>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  return tf.tidy(() => {
    const entries = Object.entries(grads);
    const norm = tf.sqrt(sumScalars(entries.map(([, g]) => tf.sum(tf.square(g))))) as tf.Scalar;
    const scale = tf.minimum(1, tf.div(maxNorm, tf.maximum(norm, 1e-12)));
    const out: Record<string, tf.Tensor> = {};
    for (const [name, g] of entries) out[name] = tf.mul(g, scale);
    return { grads: out, norm };
  });
}
