import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { ReplicaGroup } from './group';

/**
 * The group the running step belongs to. Ops that mix a batch's samples — batch statistics, a
 * batch Dice, a batch mean — read it and sum across replicas; with none active they are plain
 * single-process ops. Set for a step by {@link onReplicas}.
 */
let active: ReplicaGroup | undefined;

/** The group of the step being computed, if it runs on replicas (more than one). */
export function activeReplicas(): ReplicaGroup | undefined {
  return active;
}

/** Runs `fn` (a step: forward and gradients) as one replica of `group`. */
export function onReplicas<T>(group: ReplicaGroup | undefined, fn: () => T): T {
  const before = active;
  active = group !== undefined && group.size > 1 ? group : undefined;
  try {
    return fn();
  } finally {
    active = before;
  }
}

/** Σ over replicas of a tensor's values (no gradient); `x` itself when no group is active. */
export function sumAcrossReplicas<T extends Tensor>(x: T): T {
  const group = active;
  if (!group) return x;
  return tf.tensor(group.sum(Float32Array.from(x.dataSync())), x.shape, 'float32') as T;
}

/**
 * Σ over replicas, differentiable: forward the sum of every replica's `x`, backward the sum of
 * every replica's upstream gradient (each replica's loss depends on the sum through its own
 * samples). With every replica's step minimising (replicated loss) / size and the parameter
 * gradients summed, the result is the single-process gradient of the whole batch.
 */
export function replicaSum<T extends Tensor>(x: T): T {
  if (!active) return x;
  const f = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    (args[1] as tf.GradSaveFunc)([]);
    return { value: sumAcrossReplicas(args[0] as Tensor), gradFunc: (dy: Tensor) => [sumAcrossReplicas(dy)] };
  });
  return f(x) as T;
}

/**
 * {@link replicaSum} of several tensors in one sum (one barrier); each keeps its shape. The
 * tensors themselves when no group is active, so a single process runs no extra op.
 */
export function replicaSumEach<T extends Tensor[]>(...parts: T): T {
  if (!active) return parts;
  const flat = replicaSum(tf.concat(parts.map((t) => tf.reshape(t, [-1]))));
  return tf.split(flat, parts.map((t) => t.size)).map((t, i) => tf.reshape(t, parts[i]!.shape)) as T;
}
