import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initNodeBackend } from '@tomosort/backend/node';
import type { BackendName } from '@tomosort/backend';
import { createModel, encoderSpec, scoreModelSpec } from '@tomosort/models';
import { NO_AUGMENTATION, prepareVolume } from '@tomosort/pretext';
import { phantomSubject } from '@tomosort/samples';
import { asTrainable } from './adapt';
import { train } from './loop';
import { concatValues } from './testing';

const volumes = [0, 1].map((i) => prepareVolume(`p${i}`, phantomSubject(i, 0, { size: 32 }).volume, { plane: 'axial', size: 16 }));

/** One SortingLoss step of the small ResNet from seed 4 on `backend`: the loss and every weight afterwards. */
async function oneStep(backend: BackendName): Promise<{ loss: number; weights: Float32Array }> {
  await initNodeBackend(backend);
  const model = createModel(scoreModelSpec(encoderSpec('small')), { seed: 4 });
  const r = await train({
    model: asTrainable(model),
    volumes,
    config: {
      method: { kind: 'sorting', volumesPerBatch: 2, slicesPerVolume: 4, gapMm: [10, 30], augmentation: NO_AUGMENTATION },
      steps: 1,
      // Plain SGD at lr 1: the weights afterwards are w − ∇L, so they compare the gradients in full.
      learningRate: 1,
      optimizer: { kind: 'sgd', momentum: 0 },
      schedule: { kind: 'constant' },
      // Clipping sums every gradient's square: on WebGPU that once overflowed the storage-buffer
      // limit (tf.addN over ~40 tensors) and corrupted the step, so the comparison includes it.
      clipNorm: 0.05,
      window: { center: 0, width: 2000 },
      seed: 9,
      checkpointEvery: 0,
    },
  });
  const weights = await concatValues(model.params.trainable);
  model.dispose();
  return { loss: r.losses[0]!, weights };
}

// Tolerance: float32 sums in different orders per backend; measured differences are ~1e-6.
const TOL = 1e-4;

describe('one training step agrees across backends (small ResNet, 8 slices of 16², SGD lr 1)', () => {
  it.each(['wasm', 'webgpu'] as const)(`cpu vs %s: loss and weights within ${TOL}`, async (other) => {
    const ref = await oneStep('cpu');
    const got = await oneStep(other);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(TOL);
    let worst = 0;
    for (let n = 0; n < ref.weights.length; n++) worst = Math.max(worst, Math.abs(got.weights[n]! - ref.weights[n]!));
    expect(worst).toBeLessThan(TOL);
    await tf.setBackend('cpu');
  }, 120_000);
});
