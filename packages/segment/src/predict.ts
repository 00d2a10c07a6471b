import * as tf from '@tensorflow/tfjs-core';
import { diceScore } from '@tomosort/losses';
import { applyWindow, createVolume, reorientTo, restoreInPlane } from '@tomosort/volume';
import type { HuWindow, IntensityRule, Plane, Volume } from '@tomosort/volume';
import type { SegmentClass } from './annotation';
import { validateClasses } from './annotation';
import { SegmentError } from './errors';
import { stackAcross } from './plane';
import { toModelInput } from './prepare';

/** Anything that maps windowed slices [N, S, S, 1] to class logits [N, S, S, C] (a 3D U-Net: crops [N, D, S, S, 1] to [N, D, S, S, C]). */
export interface SegmentationModel {
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor;
}

export interface PredictOptions {
  /** Side of the model's input. */
  readonly size: number;
  readonly window: HuWindow;
  /** The model's fixed physical scale (from its manifest); default: slices stretched to size². */
  readonly mmPerPixel?: number | undefined;
  /** How non-CT volumes reach the window (from the manifest); default `DEFAULT_INTENSITY`. */
  readonly intensity?: IntensityRule | undefined;
  /** The model's classes (output channel c ≥ 1 ↔ classes[c − 1]). */
  readonly classes: readonly SegmentClass[];
  /**
   * The plane the model was trained across. Where the volume's own slices are not `plane` slices,
   * the volume is stacked across `plane` ({@link stackAcross}), labelled there and the labels put
   * back on the volume's grid. Default: the volume's own slices.
   */
  readonly plane?: Plane;
  /** Slices per forward pass. Default {@link defaultPredictBatch}. */
  readonly batch?: number;
  /**
   * A 3D U-Net's input depth: the stack is labelled in crops of `depth` consecutive slices (half
   * overlapping; probabilities averaged where they overlap; a stack thinner than a crop is padded
   * with copies of its last slice). Absent: slice by slice (a 2D U-Net).
   */
  readonly depth?: number;
  /** Called after each batch with slices done so far. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Slices per forward pass when none is given: 16 at 128², the same pixels per pass at other sizes
 * (64 at 64² and below), at least 1. Fewer, larger passes matter on a GPU, where every pass costs
 * a few hundred dispatches and a readback whatever its size.
 */
export function defaultPredictBatch(size: number): number {
  return Math.max(1, Math.min(64, Math.floor((16 * 128 * 128) / (size * size))));
}

/**
 * Labels every slice of `volume` across `opts.plane` (default: its own k axis): slices brought
 * onto the model's grid (size, physical scale, intensity: `toModelInput`), windowed, class
 * probabilities (softmax) computed there, mapped back to the stack's in-plane grid (linear;
 * background where a fixed-scale field of view does not reach), and the most probable class
 * written as its label value. Returns a label map on the volume's exact grid (modality 'SEG'),
 * whichever plane it was labelled across.
 */
export async function predictVolume(model: SegmentationModel, volume: Volume, opts: PredictOptions): Promise<Volume<Uint8Array>> {
  validateClasses(opts.classes);
  const stack = opts.plane === undefined ? volume : stackAcross(volume, opts.plane);
  const labels = await predictStack(model, stack, opts);
  if (stack === volume) return labels;
  const back = reorientTo(labels, volume.direction);
  if (back.dims.some((d, a) => d !== volume.dims[a])) {
    throw new SegmentError(`labels across the ${opts.plane} plane came back as [${back.dims.join(', ')}], not the volume's [${volume.dims.join(', ')}]`);
  }
  return createVolume({ data: back.data, dims: volume.dims, spacing: volume.spacing, origin: volume.origin, direction: volume.direction, modality: 'SEG' });
}

/** predictVolume across the stack's own k axis. */
async function predictStack(model: SegmentationModel, volume: Volume, opts: PredictOptions): Promise<Volume<Uint8Array>> {
  const { size } = opts;
  const batch = opts.batch ?? defaultPredictBatch(size);
  const C = opts.classes.length + 1;
  const small = toModelInput(volume, size, { mmPerPixel: opts.mmPerPixel, window: opts.window, intensity: opts.intensity });
  const plane = size * size;
  const slices = volume.dims[2];
  // Channel-major probabilities so each class is a volume on the small grid.
  const probs = Array.from({ length: C }, () => new Float32Array(plane * slices));
  const fill = (k0: number, n: number, values: Float32Array | Int32Array | Uint8Array) => {
    for (let p = 0; p < n * plane; p++) for (let c = 0; c < C; c++) probs[c]![k0 * plane + p] = values[p * C + c]!;
  };
  const check = (logits: tf.Tensor, expected: string) => {
    if (logits.shape.at(-1) !== C || logits.rank !== (opts.depth === undefined ? 4 : 5)) throw new SegmentError(`the model outputs [${logits.shape.join(', ')}], expected ${expected} for ${C - 1} classes + background`);
  };
  if (opts.depth === undefined) {
    const windowed = new Float32Array(batch * plane);
    for (let k0 = 0; k0 < slices; k0 += batch) {
      const n = Math.min(batch, slices - k0);
      const input = windowed.subarray(0, n * plane);
      applyWindow(small.data.subarray(k0 * plane, (k0 + n) * plane), opts.window, input);
      const out = tf.tidy(() => {
        const logits = model.apply(tf.tensor4d(input, [n, size, size, 1]), false);
        check(logits, `[${n}, ${size}, ${size}, ${C}]`);
        return tf.softmax(logits);
      });
      const values = await out.data();
      out.dispose();
      fill(k0, n, values);
      opts.onProgress?.(k0 + n, slices);
    }
  } else {
    const D = opts.depth;
    if (!Number.isInteger(D) || D < 1) throw new SegmentError(`crop depth must be a positive integer, got ${D}`);
    // A thin stack is padded with copies of its last slice; the padding's labels are dropped.
    const depth = Math.max(D, slices);
    const padded = new Float32Array(depth * plane);
    applyWindow(small.data, opts.window, padded.subarray(0, slices * plane));
    for (let k = slices; k < depth; k++) padded.copyWithin(k * plane, (slices - 1) * plane, slices * plane);
    const step = Math.max(1, Math.floor(D / 2));
    const starts: number[] = [];
    for (let k0 = 0; k0 + D < depth; k0 += step) starts.push(k0);
    starts.push(depth - D);
    const counts = new Float32Array(depth);
    const sums = Array.from({ length: C }, () => new Float32Array(depth * plane));
    for (const [i, k0] of starts.entries()) {
      const out = tf.tidy(() => {
        const logits = model.apply(tf.tensor5d(padded.subarray(k0 * plane, (k0 + D) * plane), [1, D, size, size, 1]) as unknown as tf.Tensor4D, false);
        check(logits, `[1, ${D}, ${size}, ${size}, ${C}]`);
        return tf.softmax(logits);
      });
      const values = await out.data();
      out.dispose();
      for (let p = 0; p < D * plane; p++) for (let c = 0; c < C; c++) sums[c]![k0 * plane + p]! += values[p * C + c]!;
      for (let k = k0; k < k0 + D; k++) counts[k]! += 1;
      opts.onProgress?.(Math.min(slices, Math.round(((i + 1) / starts.length) * slices)), slices);
    }
    for (let c = 0; c < C; c++) for (let k = 0; k < slices; k++) for (let p = 0; p < plane; p++) probs[c]![k * plane + p] = sums[c]![k * plane + p]! / counts[k]!;
  }
  const [nx, ny] = volume.dims;
  const count = nx * ny * slices;
  const best = new Float32Array(count).fill(-1);
  const labels = new Uint8Array(count);
  probs.forEach((p, c) => {
    const up = restoreInPlane(createVolume({ ...small, data: p }), volume, { size, mmPerPixel: opts.mmPerPixel }, c === 0 ? 1 : 0).data;
    const value = c === 0 ? 0 : opts.classes[c - 1]!.value;
    for (let n = 0; n < count; n++) {
      if (up[n]! > best[n]!) {
        best[n] = up[n]!;
        labels[n] = value;
      }
    }
  });
  return createVolume({ data: labels, dims: volume.dims, spacing: volume.spacing, origin: volume.origin, direction: volume.direction, modality: 'SEG' });
}

/**
 * Dice of each class between a predicted and a true label map on the same grid, over the slices
 * listed in `slices` (default: all). A class absent from both scores 1.
 */
export function dicePerClass(
  predicted: Volume<Uint8Array>,
  truth: Volume<Uint8Array>,
  classes: readonly SegmentClass[],
  slices?: readonly number[],
): Record<string, number> {
  if (predicted.data.length !== truth.data.length) {
    throw new SegmentError(`predicted labels are [${predicted.dims.join(', ')}], the truth [${truth.dims.join(', ')}]`);
  }
  const plane = predicted.dims[0] * predicted.dims[1];
  let mask: Uint8Array | undefined;
  if (slices) {
    mask = new Uint8Array(predicted.data.length);
    for (const k of slices) mask.fill(1, k * plane, (k + 1) * plane);
  }
  return Object.fromEntries(classes.map((c) => [c.name, diceScore(predicted.data, truth.data, c.value, mask)]));
}
