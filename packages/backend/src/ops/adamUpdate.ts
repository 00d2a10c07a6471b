import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { OpArgumentError } from '../errors';
import type { AdamAttrs } from '../kernels';
import { KernelName, tomosortKernelActive } from '../kernels';

/** Adam's slots and the variable after one step. */
export interface AdamState {
  readonly variable: Tensor;
  readonly m: Tensor;
  readonly s: Tensor;
}

/**
 * One Adam step (Kingma & Ba 2015), with decoupled weight decay (AdamW, Loshchilov & Hutter 2019):
 * m ← β₁m + (1 − β₁)g,  s ← β₂s + (1 − β₂)g²,
 * v ← v − lr·( (m/(1 − β₁ᵗ)) / (√(s/(1 − β₂ᵗ)) + ε) + λ·v ).
 * One kernel where tomosort's kernels run (native on wasm, WGSL on webgpu), else the same arithmetic in stock tfjs ops. Not
 * differentiable (it is the update itself).
 *
 * @returns the new variable value and slots (the caller assigns them)
 * @throws OpArgumentError ("Error in adamUpdate: …") when the shapes differ
 */
export function adamUpdate(variable: Tensor, m: Tensor, s: Tensor, gradient: Tensor, attrs: AdamAttrs): AdamState {
  for (const [name, t] of [['m', m], ['s', s], ['gradient', gradient]] as const) {
    if (!tf.util.arraysEqual(t.shape, variable.shape)) {
      throw new OpArgumentError('adamUpdate', `${name} [${t.shape.join(', ')}] must have the variable's shape [${variable.shape.join(', ')}].`);
    }
  }
  if (tomosortKernelActive(KernelName.AdamUpdate)) {
    const [v, m2, s2] = tf.engine().runKernel(KernelName.AdamUpdate, { variable, m, s, gradient }, attrs as unknown as NamedAttrMap) as Tensor[];
    return { variable: v!, m: m2!, s: s2! };
  }
  if (tf.getBackend() === 'wasm' && variable.size <= SMALL_IN_JS) return adamInJs(variable, m, s, gradient, attrs);
  return tf.tidy(() => {
    const { beta1: b1, beta2: b2, epsilon, step: t, learningRate, weightDecay } = attrs;
    const m2 = tf.add(tf.mul(m, b1), tf.mul(gradient, 1 - b1));
    const s2 = tf.add(tf.mul(s, b2), tf.mul(tf.square(gradient), 1 - b2));
    const mHat = tf.div(m2, 1 - b1 ** t);
    const sHat = tf.div(s2, 1 - b2 ** t);
    let update = tf.div(mHat, tf.add(tf.sqrt(sHat), epsilon));
    if (weightDecay) update = tf.add(update, tf.mul(variable, weightDecay));
    return { variable: tf.sub(variable, tf.mul(update, learningRate)), m: m2, s: s2 };
  });
}

/**
 * Variables up to this size take Adam in JavaScript on plain wasm: their ~11 kernel calls cost
 * more than their arithmetic (a 56-variable U-Net, 49 of them this small: 6.6 ms of Adam a step).
 */
const SMALL_IN_JS = 4096;

/** The same update in float64, from the values wasm holds in memory (a read is a copy, no stall). */
function adamInJs(variable: Tensor, m: Tensor, s: Tensor, gradient: Tensor, attrs: AdamAttrs): AdamState {
  const { beta1: b1, beta2: b2, epsilon, step: t, learningRate: lr, weightDecay: wd } = attrs;
  const [v0, m0, s0, g] = [variable, m, s, gradient].map((x) => x.dataSync() as Float32Array) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const c1 = 1 / (1 - b1 ** t);
  const c2 = 1 / (1 - b2 ** t);
  const [v1, m1, s1] = [new Float32Array(v0.length), new Float32Array(v0.length), new Float32Array(v0.length)];
  for (let i = 0; i < v0.length; i++) {
    const mi = b1 * m0[i]! + (1 - b1) * g[i]!;
    const si = b2 * s0[i]! + (1 - b2) * g[i]! * g[i]!;
    m1[i] = mi;
    s1[i] = si;
    v1[i] = v0[i]! - lr * ((mi * c1) / (Math.sqrt(si * c2) + epsilon) + wd * v0[i]!);
  }
  return { variable: tf.tensor(v1, variable.shape), m: tf.tensor(m1, m.shape), s: tf.tensor(s1, s.shape) };
}
