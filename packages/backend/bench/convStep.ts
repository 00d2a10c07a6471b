/**
 * ms per forward + backward of x=[16,128,128,1] → conv 7×7/2 (64) → relu → conv 3×3/1 (64),
 * loss = mean(y²), gradients w.r.t. both filters. Run: `npx tsx packages/backend/bench/convStep.ts`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { conv2d } from '../src/index';
import { initNodeBackend } from '../src/node/index';
import { randomNormal } from '../src/testing/conv2dCases';

type Conv = (x: Tensor4D, w: Tensor4D, s: number, pad: 'same') => Tensor4D;
const ours: Conv = (x, w, s, pad) => conv2d(x, w, s, pad);
const stock: Conv = (x, w, s, pad) => tf.conv2d(x, w, s, pad);

async function stepMs(backend: 'wasm' | 'cpu', conv: Conv, runs: number): Promise<number[]> {
  await tf.setBackend(backend);
  const x = tf.tensor4d(randomNormal(16 * 128 * 128, 1), [16, 128, 128, 1]);
  const w1 = tf.tensor4d(randomNormal(7 * 7 * 64, 2).map((v) => v * 0.1), [7, 7, 1, 64]);
  const w2 = tf.tensor4d(randomNormal(3 * 3 * 64 * 64, 3).map((v) => v * 0.05), [3, 3, 64, 64]);
  const loss = (a: Tensor, b: Tensor): Tensor => tf.mean(tf.square(conv(tf.relu(conv(x, a as Tensor4D, 2, 'same')), b as Tensor4D, 1, 'same')));
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const grads = tf.tidy(() => tf.grads(loss)([w1, w2]));
    await Promise.all(grads.map((g) => g.data()));
    tf.dispose(grads);
    if (i > 0) times.push(performance.now() - t0); // the first run warms up
  }
  tf.dispose([x, w1, w2]);
  return times;
}

const median = (t: number[]): number => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]!;
await initNodeBackend('cpu');
console.log((await initNodeBackend('wasm')).label);
const rows: [string, 'wasm' | 'cpu', Conv, number][] = [
  ['wasm, @tomosort/backend conv2d', 'wasm', ours, 7],
  ['cpu, @tomosort/backend conv2d', 'cpu', ours, 2],
  ['cpu, stock tf.conv2d gradients', 'cpu', stock, 2],
];
for (const [name, backend, conv, runs] of rows) {
  const t = await stepMs(backend, conv, runs);
  console.log(`${name}: median ${median(t).toFixed(0)} ms (runs: ${t.map((v) => v.toFixed(0)).join(', ')})`);
}
try {
  await stepMs('wasm', stock, 0);
} catch (e) {
  console.log(`wasm, stock tf.conv2d gradients: ${(e as Error).message}`);
}
