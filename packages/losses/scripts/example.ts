// The README snippet (runs under tsx; forward values only):
//   node_modules/.bin/tsx packages/losses/scripts/example.ts
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { diceLoss, diceScore, ntXentLoss, sortingLoss, spearman } from '@tomosort/losses';

await tf.setBackend('cpu');

// Two volumes × four slices: scores from the network, positions in mm (any order).
const scores = tf.tensor2d([
  [0.1, 0.9, 0.4, 1.3],
  [2.0, -1.0, 0.5, 0.0],
]);
const positions = tf.tensor2d([
  [0, 5, 2.5, 7.5],
  [30, 0, 20, 10],
]);
const listmle = sortingLoss(scores, positions); // ListMLE, the default
const pairwise = sortingLoss(scores, positions, { kind: 'pairwise', margin: 0.5, distance: { weight: 0.01 } });
console.log('listmle', listmle.dataSync()[0], 'pairwise+distance', pairwise.dataSync()[0]);
console.log('spearman row 1', spearman([0.1, 0.9, 0.4, 1.3], [0, 5, 2.5, 7.5])); // 1

const z1: tf.Tensor2D = tf.randomNormal([8, 32], 0, 1, 'float32', 1);
const z2: tf.Tensor2D = tf.add(z1, tf.randomNormal([8, 32], 0, 0.1, 'float32', 2));
console.log('nt-xent', ntXentLoss(z1, z2).dataSync()[0]);

// Segmentation: 2 slices of 2×2 pixels, 2 classes; slice 2 is unannotated (weight 0).
const logits = tf.zeros([2, 2, 2, 2]) as tf.Tensor4D;
const labels = tf.tensor3d([[[0, 1], [1, 1]], [[0, 0], [0, 0]]], undefined, 'int32');
const dice = diceLoss(logits, labels, { weight: tf.tensor1d([1, 0]) });
console.log('dice loss', dice.dataSync()[0]); // 1 − (1/3 + 3/5)/2 ≈ 0.5333
console.log('dice score', diceScore(Int32Array.from([1, 1, 0, 0]), Int32Array.from([1, 0, 1, 0]), 1)); // 0.5
