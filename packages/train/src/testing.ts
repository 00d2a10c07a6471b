import * as tf from '@tensorflow/tfjs-core';
import type { TrainableModel } from './model';

/**
 * A tiny conv net for loop tests (conv 3×3 → relu → global mean → linear to `out`). It is a
 * stand-in for @tomosort/models only where a test is about the loop, not the network.
 */
export function tinyConvNet(out: number, seed = 1): TrainableModel {
  const w1 = tf.variable(tf.randomNormal([3, 3, 1, 4], 0, 0.5, 'float32', seed), true);
  const w2 = tf.variable(tf.randomNormal([4, out], 0, 0.5, 'float32', seed + 1), true);
  const b2 = tf.variable(tf.zeros([out]), true);
  const vars = { 'tiny/w1': w1, 'tiny/w2': w2, 'tiny/b2': b2 };
  return {
    trainable: vars,
    state: vars,
    apply: (x) => {
      const h = tf.relu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 2, 'same'));
      return tf.add(tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, w2), b2) as tf.Tensor2D;
    },
  };
}

/** Every variable's values, one after another (in the record's order): for comparing whole models. */
export async function concatValues(vars: Readonly<Record<string, tf.Variable>>): Promise<Float32Array> {
  const parts = await Promise.all(Object.values(vars).map(async (v) => (await v.data()) as Float32Array));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
