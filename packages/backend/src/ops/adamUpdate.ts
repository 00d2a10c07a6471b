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
