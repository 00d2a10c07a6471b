import type * as tf from '@tensorflow/tfjs-core';
import type { Model } from '@tomosort/models';
import type { TrainableModel } from './model';

/** A model from @tomosort/models as the loop sees it. */
export function asTrainable(model: Model): TrainableModel {
  return {
    get trainable() {
      return model.params.trainable;
    },
    get state() {
      return model.params.state;
    },
    apply: (x, training) => model.apply(x as tf.Tensor4D, { training }),
  };
}

/**
 * `model` with only the trainable variables whose name passes `keep` (e.g. a frozen encoder:
 * `(n) => !n.startsWith('encoder/')`). Checkpoints still hold every variable.
 */
export function withTrainable(model: TrainableModel, keep: (name: string) => boolean): TrainableModel {
  return {
    get trainable() {
      return Object.fromEntries(Object.entries(model.trainable).filter(([name]) => keep(name)));
    },
    get state() {
      return model.state;
    },
    apply: (x, training) => model.apply(x, training),
  };
}
