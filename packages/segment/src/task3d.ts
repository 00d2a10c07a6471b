// Sparse-slice fine-tuning of a 3D network: crops of consecutive slices through the whole volume,
// the loss counted on the annotated slices only.
import * as tf from '@tensorflow/tfjs-core';
import type { Augmentation } from '@tomosort/pretext';
import { fillGaussian, uniform, uniformInt } from '@tomosort/random';
import type { Rng } from '@tomosort/random';
import { shardRows } from '@tomosort/train';
import type { TrainTask, TrainableModel } from '@tomosort/train';
import { applyWindow } from '@tomosort/volume';
import type { HuWindow } from '@tomosort/volume';
import type { SegmentClass, SparseAnnotation } from './annotation';
import { SegmentError } from './errors';
import { prepareAnnotation, toModelInput } from './prepare';
import type { ModelInputOptions, PreparedAnnotation } from './prepare';
import { checkTaskData, segmentationLoss } from './task';

/**
 * A whole volume on the model's grid for a 3D network: every slice at `size²` (in-plane scale and
 * intensity as `toModelInput`), depth = the acquired slices, not resampled, so that the annotated
 * slices stay exactly what was drawn; and the annotated slices' targets (as `prepareAnnotation`).
 */
export interface PreparedVolumeAnnotation extends PreparedAnnotation {
  readonly kind: 'volume';
  /** Slices of the volume (depth of `volume`). */
  readonly depth: number;
  /** `depth × size × size` HU values, every slice. */
  readonly volume: Float32Array;
}

/** A 3D U-Net's crop depth when none is asked for: 16 slices on an in-plane-striding encoder (CSPR: pre-trained 3 deep, takes any depth), else the encoder's pre-training crop (`cropDepth` of its manifest), else 16. */
const DEFAULT_CROP_DEPTH = 16;
export function defaultCropDepth(encoder: { readonly inPlaneStrides?: boolean }, cropDepth: number | undefined): number {
  return encoder.inPlaneStrides === true ? DEFAULT_CROP_DEPTH : (cropDepth ?? DEFAULT_CROP_DEPTH);
}

/** {@link PreparedVolumeAnnotation} of `a`: unannotated slices are images only, their labels never read. */
export function prepareVolumeAnnotation(a: SparseAnnotation, size: number, classes: readonly SegmentClass[], opts: ModelInputOptions = {}): PreparedVolumeAnnotation {
  // Crops run along k: a plane across another axis would be a line in each crop slice.
  if ((a.reformats ?? []).length > 0) throw new SegmentError(`${a.id}: a 3D network fine-tunes on annotated slices along the acquisition (k) only; annotate in the acquisition plane or use a 2D model`);
  const annotated = prepareAnnotation(a, size, classes, opts);
  const whole = toModelInput(a.volume, size, opts, a.id);
  return { ...annotated, kind: 'volume', depth: a.volume.dims[2], volume: whole.data };
}

export interface VolumeSegmentationBatch {
  /** `[count, depth, size, size, 1]` windowed values. */
  readonly images: Float32Array;
  /** `[count·depth, size, size]` class indices (0 where no annotation). */
  readonly targets: Int32Array;
  /** `[count·depth]`: 1 on an annotated slice, 0 elsewhere (never background). */
  readonly weights: Float32Array;
  readonly count: number;
}

export interface VolumeSegmentationTaskOptions {
  /** Crops per step. */
  readonly batch: number;
  /** Slices per crop (the 3D network's input depth). */
  readonly depth: number;
  readonly window: HuWindow;
  /** Intensity changes (noise, shift, scale), one draw per crop; geometry is not used. */
  readonly augmentation: Augmentation;
}

/**
 * Fine-tuning a 3D U-Net on sparse slices: each crop is `depth` consecutive slices around an
 * annotated slice drawn uniformly (its position in the crop uniform too, within the volume); the
 * cross-entropy + Dice over the foreground classes is weighted 1 on the crop's annotated slices
 * and 0 on every other — the unannotated slices feed the network as context, their labels never.
 */
export function volumeSegmentationTask(data: readonly PreparedVolumeAnnotation[], opts: VolumeSegmentationTaskOptions): TrainTask<VolumeSegmentationBatch> {
  const size = checkTaskData(data, opts.batch);
  const D = opts.depth;
  if (!Number.isInteger(D) || D < 1) throw new SegmentError(`crop depth must be a positive integer, got ${D}`);
  const thin = data.find((d) => d.depth < D);
  if (thin) throw new SegmentError(`${thin.id} has ${thin.depth} slices; the 3D model takes crops of ${D}`);
  const index = data.flatMap((d) => d.slices.map((k, n) => [d, k, n] as const));
  const plane = size * size;
  return {
    slicesPerStep: opts.batch * D,
    draw(rng: Rng): VolumeSegmentationBatch {
      const images = new Float32Array(opts.batch * D * plane);
      const targets = new Int32Array(opts.batch * D * plane);
      const weights = new Float32Array(opts.batch * D);
      const noise = new Float32Array(D * plane);
      const a = opts.augmentation;
      for (let b = 0; b < opts.batch; b++) {
        const [d, k] = index[uniformInt(rng, 0, index.length - 1)]!;
        const start = uniformInt(rng, Math.max(0, k - D + 1), Math.min(k, d.depth - D));
        const scale = 1 + uniform(rng, -a.huScale, a.huScale);
        const shift = uniform(rng, -a.huShift, a.huShift);
        if (a.noiseHu > 0) fillGaussian(rng, noise);
        const out = images.subarray(b * D * plane, (b + 1) * D * plane);
        const src = d.volume.subarray(start * plane, (start + D) * plane);
        for (let n = 0; n < out.length; n++) out[n] = src[n]! * scale + shift + (a.noiseHu > 0 ? noise[n]! * a.noiseHu : 0);
        applyWindow(out, opts.window, out);
        // Every annotated slice inside the crop counts, not only the one drawn.
        d.slices.forEach((s, n) => {
          if (s < start || s >= start + D) return;
          weights[b * D + s - start] = 1;
          targets.set(d.targets.subarray(n * plane, (n + 1) * plane), (b * D + s - start) * plane);
        });
      }
      return { images, targets, weights, count: opts.batch };
    },
    loss(model: TrainableModel, batch: VolumeSegmentationBatch): tf.Scalar {
      const x = tf.tensor5d(batch.images, [batch.count, D, size, size, 1]);
      const out = model.apply(x, true);
      if (out.rank !== 5) throw new SegmentError(`a 3D fine-tuning needs a 3D U-Net; the model gives [${out.shape.join(', ')}]`);
      const logits = tf.reshape(out, [batch.count * D, size, size, out.shape[4]!]) as tf.Tensor4D;
      return segmentationLoss(logits, tf.tensor3d(batch.targets, [batch.count * D, size, size], 'int32'), tf.tensor1d(batch.weights));
    },
    // Whole crops per replica; the loss's sums (cross-entropy's Σ w, the batch Dice) and batch norm span the replicas.
    shard(batch: VolumeSegmentationBatch, index: number, count: number): VolumeSegmentationBatch {
      const [from, to] = shardRows(batch.count, index, count);
      const slab = D * plane;
      return { images: batch.images.subarray(from * slab, to * slab), targets: batch.targets.subarray(from * slab, to * slab), weights: batch.weights.subarray(from * D, to * D), count: to - from };
    },
  };
}
