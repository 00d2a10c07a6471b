import type { Model } from '@tomosort/models';
import type * as tf from '@tensorflow/tfjs-core';
import type { TrainableModel } from './model';

/** A score or projection model from @tomosort/models as the loop sees it. */
export function asTrainable(model: Model): TrainableModel {
  return {
    get trainable() {
      return model.params.trainable;
    },
    get state() {
      return model.params.state;
    },
    apply: (x, training) => model.apply(x, { training }) as tf.Tensor2D,
  };
}
