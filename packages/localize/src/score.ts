import * as tf from '@tensorflow/tfjs-core';
import { applyWindow } from '@tomosort/volume';
import type { HuWindow } from '@tomosort/volume';
import type { PreparedVolume } from '@tomosort/pretext';

/** Anything that maps windowed slices [N, S, S, 1] to one score each ([N, 1]). */
export interface SliceScorer {
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor;
}

/** Scores every slice of a prepared volume (inference mode, `batch` slices per pass). */
export async function scoreVolume(
  model: SliceScorer,
  v: PreparedVolume,
  window: HuWindow,
  batch = 32,
): Promise<{ readonly positionsMm: Float64Array; readonly scores: Float32Array }> {
  const plane = v.size * v.size;
  const scores = new Float32Array(v.slices);
  const input = new Float32Array(batch * plane);
  for (let k0 = 0; k0 < v.slices; k0 += batch) {
    const n = Math.min(batch, v.slices - k0);
    const x = applyWindow(v.data.subarray(k0 * plane, (k0 + n) * plane), window, input.subarray(0, n * plane));
    const out = tf.tidy(() => tf.reshape(model.apply(tf.tensor4d(x, [n, v.size, v.size, 1]), false), [n]));
    scores.set(await out.data(), k0);
    out.dispose();
  }
  const positionsMm = Float64Array.from({ length: v.slices }, (_, k) => v.firstMm + k * v.spacingMm);
  return { positionsMm, scores };
}
