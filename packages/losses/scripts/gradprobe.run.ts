// Hand-run (node_modules/.bin/vitest run --config packages/losses/scripts/vitest.config.ts gradprobe):
// observed finite-difference errors per loss and step h (justifies the test tolerances).
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { it } from 'vitest';
import { barlowTwinsLoss } from '../src/barlow';
import { ntXentLoss } from '../src/ntxent';
import { crossEntropyLoss, diceLoss } from '../src/segmentation';
import { sortingLoss } from '../src/sorting';
import { gradCheck, seededNormal } from '../src/testing';

it('finite-difference errors', async () => {
  await tf.setBackend('cpu');
  const s = tf.tensor2d(seededNormal(18, 11), [3, 6]);
  const z = tf.tensor2d([[0, 2.5, 5, 7.5, 10, 10], [10, 0, 5, 2.5, 10, 7.5], [5, 10, 0, 2.5, 7.5, 10]]);
  const z1 = tf.tensor2d(seededNormal(12, 3), [4, 3]);
  const z2 = tf.tensor2d(seededNormal(12, 4), [4, 3]);
  const b1 = tf.tensor2d(seededNormal(18, 5), [6, 3]);
  const b2 = tf.tensor2d(seededNormal(18, 6), [6, 3]);
  const logits = tf.tensor4d(seededNormal(54, 9), [2, 3, 3, 3]);
  const target = tf.tensor3d([0, 1, 2, 2, 1, 0, 255, 1, 1, 2, 2, 2, 0, 0, 1, 1, 0, 2], [2, 3, 3], 'int32');
  const cases: [string, (x: Tensor) => tf.Scalar, Tensor][] = [
    ['listmle', (x) => sortingLoss(x as Tensor2D, z), s],
    ['pairwise', (x) => sortingLoss(x as Tensor2D, z, { kind: 'pairwise' }), s],
    ['adjacent', (x) => sortingLoss(x as Tensor2D, z, { kind: 'adjacent' }), s],
    ['listmle+distance', (x) => sortingLoss(x as Tensor2D, z, { kind: 'listmle', distance: { weight: 0.3 } }), s],
    ['ntxent τ=0.1', (x) => ntXentLoss(x as Tensor2D, z2), z1],
    ['ntxent τ=0.5', (x) => ntXentLoss(x as Tensor2D, z2, { temperature: 0.5 }), z1],
    ['barlow λ=.0051', (x) => barlowTwinsLoss(x as Tensor2D, b2), b1],
    ['barlow λ=.5', (x) => barlowTwinsLoss(x as Tensor2D, b2, { lambda: 0.5 }), b1],
    ['dice', (x) => diceLoss(x as Tensor4D, target), logits],
    ['ce', (x) => crossEntropyLoss(x as Tensor4D, target), logits],
  ];
  for (const [name, f, x] of cases) {
    const row: string[] = [];
    let maxAbs = 0;
    for (const h of [1e-1, 3e-2, 1e-2, 3e-3, 1e-3]) {
      const r = gradCheck(f, x, { h, rtol: 0, atol: 1 });
      maxAbs = r.maxAbs;
      row.push(`h=${h}: ${r.worst.toExponential(1)}`);
    }
    const v = f(x).dataSync()[0]!;
    console.log(`${name.padEnd(18)} L=${v.toFixed(3)} max|g|=${maxAbs.toFixed(3)}  max|fd−g|  ${row.join('  ')}`);
  }
});
