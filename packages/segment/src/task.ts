import * as tf from '@tensorflow/tfjs-core';
import { crossEntropyLoss, diceLoss } from '@tomosort/losses';
import { augmentSlice } from '@tomosort/pretext';
import type { Augmentation } from '@tomosort/pretext';
import { uniformInt } from '@tomosort/random';
import type { Rng } from '@tomosort/random';
import { shardRows } from '@tomosort/train';
import type { TrainTask, TrainableModel } from '@tomosort/train';
import type { HuWindow } from '@tomosort/volume';
import { SegmentError } from './errors';
import type { PreparedAnnotation } from './prepare';

/**
 * Intensity-only augmentation for fine-tuning: geometric changes would have to move the labels
 * too, and the few annotated slices are what the user drew on.
 */
export const SEGMENTATION_AUGMENTATION: Augmentation = {
  noiseHu: 10,
  huShift: 20,
  huScale: 0.05,
  rotationDeg: 0,
  flip: false,
  cropScale: [1, 1],
};

export interface SegmentationBatch {
  readonly images: Float32Array;
  readonly targets: Int32Array;
  readonly count: number;
}

export interface SegmentationTaskOptions {
  /** Slices per step, drawn with replacement from every annotated slice. */
  readonly batch: number;
  readonly window: HuWindow;
  readonly augmentation: Augmentation;
}

/** The slice size every prepared annotation shares; throws unless there is one and `batch` is a positive integer. */
export function checkTaskData(data: readonly PreparedAnnotation[], batch: number): number {
  const size = data[0]?.size;
  if (size === undefined) throw new SegmentError('fine-tuning needs at least one annotated volume');
  const bad = data.find((d) => d.size !== size);
  if (bad) throw new SegmentError(`${bad.id} was prepared at ${bad.size}², the others at ${size}²`);
  if (!Number.isInteger(batch) || batch < 1) throw new SegmentError(`batch must be a positive integer, got ${batch}`);
  return size;
}

/** The fine-tuning loss: cross-entropy + Dice over the foreground classes, `weight` per image (0 = not annotated). */
export function segmentationLoss(logits: tf.Tensor4D, target: tf.Tensor3D, weight?: tf.Tensor1D): tf.Scalar {
  const w = weight ? { weight } : {};
  return tf.add(crossEntropyLoss(logits, target, w), diceLoss(logits, target, { ...w, includeBackground: false }));
}

/**
 * Fine-tuning on annotated slices only: unannotated slices never enter a batch, so they are
 * never taken for background. Loss = cross-entropy + Dice over the foreground classes.
 */
export function segmentationTask(data: readonly PreparedAnnotation[], opts: SegmentationTaskOptions): TrainTask<SegmentationBatch> {
  const size = checkTaskData(data, opts.batch);
  const plane = size * size;
  // Every annotated image: slices and reformatted planes alike.
  const index = data.flatMap((d) => Array.from({ length: d.targets.length / plane }, (_, n) => [d, n] as const));
  return {
    slicesPerStep: opts.batch,
    draw(rng: Rng): SegmentationBatch {
      const images = new Float32Array(opts.batch * plane);
      const targets = new Int32Array(opts.batch * plane);
      const noise = new Float32Array(plane);
      for (let b = 0; b < opts.batch; b++) {
        const [d, n] = index[uniformInt(rng, 0, index.length - 1)]!;
        const src = d.images.subarray(n * plane, (n + 1) * plane);
        augmentSlice(src, size, opts.window, opts.augmentation, rng, images.subarray(b * plane, (b + 1) * plane), noise);
        targets.set(d.targets.subarray(n * plane, (n + 1) * plane), b * plane);
      }
      return { images, targets, count: opts.batch };
    },
    loss(model: TrainableModel, batch: SegmentationBatch): tf.Scalar {
      const x = tf.tensor4d(batch.images, [batch.count, size, size, 1]);
      const logits = model.apply(x, true) as tf.Tensor4D;
      return segmentationLoss(logits, tf.tensor3d(batch.targets, [batch.count, size, size], 'int32'));
    },
    // The loss's sums (cross-entropy's mean, the batch Dice) and batch norm span the replicas.
    shard(batch: SegmentationBatch, index: number, count: number): SegmentationBatch {
      const [from, to] = shardRows(batch.count, index, count);
      return { images: batch.images.subarray(from * plane, to * plane), targets: batch.targets.subarray(from * plane, to * plane), count: to - from };
    },
  };
}
