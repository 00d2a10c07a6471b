// Hand-run measurement (not a test): which SortingLoss variant should be the default?
//   node_modules/.bin/vitest run --config packages/losses/scripts/vitest.config.ts compare-variants
//
// 1. Gradient signal at initialisation: random scores vs random positions, per variant: mean |∂L/∂s|
//    and the cosine between −∇L and the ideal direction (z − z̄), i.e. how well one step points
//    towards the true order.
// 2. A toy "body-part regression": a body is a smooth curve g(t) ∈ R^16 over body height t (mm);
//    a volume is a window [t0, t0 + extent] of it, sampled every 1–5 mm, with noise. An MLP
//    16 → 32 → 1 scores each slice from its features; it is trained with each variant on K = 8
//    slices of B = 8 volumes per step (Adam, 300 steps) and evaluated on 24 held-out volumes:
//    mean within-volume Spearman ρ (what the product reports), pooled ρ of score vs absolute t
//    across all held-out slices (are scores comparable between volumes?) and pooled Pearson r² of
//    score vs t (are scores linear in body height, which the distance term asks for?).
// The real decision belongs to the training benchmark on CT; this only ranks the variants on a toy.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs-core';
import { it } from 'vitest';
import type { SortingLossOptions } from '../src/sorting';
import { sortingLoss, spearman } from '../src/sorting';
import { seededNormal } from '../src/testing';
import { mulberry32 } from '@tomosort/random';

const VARIANTS: [string, SortingLossOptions][] = [
  ['listmle', { kind: 'listmle' }],
  ['pairwise', { kind: 'pairwise' }],
  ['pairwise m=1', { kind: 'pairwise', margin: 1 }],
  ['adjacent', { kind: 'adjacent' }],
  ['listmle+d0.01', { kind: 'listmle', distance: { weight: 0.01 } }],
  ['listmle+d0.1', { kind: 'listmle', distance: { weight: 0.1 } }],
  ['listmle+d1', { kind: 'listmle', distance: { weight: 1 } }],
  ['pairwise+d1', { kind: 'pairwise', distance: { weight: 1 } }],
];

const D = 16;
const BODY = 1000; // mm
/** The body: g_k(t) = sin(ω_k t + φ_k), ω_k ∈ [1/400, 1/40] per mm. */
const OMEGA = Array.from({ length: D }, (_, k) => 1 / 400 + (k / D) * (1 / 40 - 1 / 400));
const PHI = Array.from({ length: D }, (_, k) => (2 * Math.PI * ((k * 0.618) % 1)));

interface Stack {
  readonly x: Float32Array; // [K, D]
  readonly z: Float32Array; // [K] mm within the volume
  readonly t: Float32Array; // [K] absolute body height
}

/** K slices of one volume; `all` = the whole stack in order (evaluation) else K random slices. */
function drawStack(rand: () => number, k: number, all: boolean, noiseSd: number): Stack {
  const spacing = [1, 2.5, 5][Math.floor(rand() * 3)]!;
  const extent = 150 + rand() * 250;
  const t0 = rand() * (BODY - extent);
  const n = Math.floor(extent / spacing);
  const idx = all
    ? Array.from({ length: k }, (_, i) => Math.round((i * (n - 1)) / (k - 1)))
    : Array.from({ length: k }, () => Math.floor(rand() * n));
  const x = new Float32Array(k * D);
  const z = new Float32Array(k);
  const t = new Float32Array(k);
  const noise = seededNormal(k * D, Math.floor(rand() * 2 ** 31));
  idx.forEach((i, s) => {
    z[s] = i * spacing;
    t[s] = t0 + i * spacing;
    for (let d = 0; d < D; d++) x[s * D + d] = Math.sin(OMEGA[d]! * t[s]! + PHI[d]!) + noiseSd * noise[s * D + d]!;
  });
  return { x, z, t };
}

function batch(stacks: Stack[], k: number): { x: Tensor2D; z: Tensor2D } {
  const x = new Float32Array(stacks.length * k * D);
  const z = new Float32Array(stacks.length * k);
  stacks.forEach((s, b) => {
    x.set(s.x, b * k * D);
    z.set(s.z, b * k);
  });
  return { x: tf.tensor2d(x, [stacks.length * k, D]), z: tf.tensor2d(z, [stacks.length, k]) };
}

function gradientSignal(): void {
  console.log('\n1. gradient at random scores (B = 256 rows, K = 8, positions: random subsets of a 2.5 mm grid, ties possible)');
  const rand = mulberry32(1);
  const B = 256;
  const K = 8;
  const s = tf.tensor2d(seededNormal(B * K, 2), [B, K]);
  const z = tf.tensor2d(Array.from({ length: B * K }, () => 2.5 * Math.floor(rand() * 40)), [B, K]);
  for (const [name, o] of VARIANTS) {
    const g = tf.grad((x: tf.Tensor) => sortingLoss(x as Tensor2D, z, o))(s);
    // Per row: cosine between −g and (z − z̄).
    const cos = tf.tidy(() => {
      const zc = tf.sub(z, tf.mean(z, 1, true));
      const num = tf.sum(tf.mul(tf.neg(g), zc), 1);
      const den = tf.mul(tf.norm(g, 2, 1), tf.norm(zc, 2, 1));
      return tf.mean(tf.div(num, tf.maximum(den, 1e-12))).dataSync()[0]!;
    });
    const mag = tf.tidy(() => tf.mean(tf.abs(g)).dataSync()[0]! * B * K); // per-slice size before the 1/(BK) mean
    console.log(`  ${name.padEnd(14)} mean|∂L/∂s|·BK = ${mag.toFixed(3)}   cos(−∇L, z − z̄) = ${cos.toFixed(3)}`);
    g.dispose();
  }
  tf.dispose([s, z]);
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i]! / a.length;
    mb += b[i]! / b.length;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

function train(o: SortingLossOptions, seed: number, steps: number, checkpoints: number[], noiseSd: number): { at: number; rho: number; pooled: number; linear: number; ms: number }[] {
  const rand = mulberry32(seed);
  const init = (n: number, fanIn: number, sd: number) => seededNormal(n, Math.floor(rand() * 2 ** 31)).map((v) => (v * sd) / Math.sqrt(fanIn));
  const w1 = tf.variable(tf.tensor2d(init(D * 32, D, 1), [D, 32]));
  const b1 = tf.variable(tf.zeros([32]));
  const w2 = tf.variable(tf.tensor2d(init(32, 32, 1), [32, 1]));
  const net = (x: Tensor2D): Tensor2D => tf.matMul(tf.tanh(tf.add(tf.matMul(x, w1), b1)), w2);
  const opt = tf.train.adam(3e-3);
  const B = 8;
  const K = 8;
  const evalRand = mulberry32(999);
  const held = Array.from({ length: 24 }, () => drawStack(evalRand, 32, true, noiseSd));
  const heldBatch = batch(held, 32);
  const out: { at: number; rho: number; pooled: number; linear: number; ms: number }[] = [];
  let ms = 0;
  for (let step = 1; step <= steps; step++) {
    const { x, z } = batch(Array.from({ length: B }, () => drawStack(rand, K, false, noiseSd)), K);
    const t0 = performance.now();
    opt.minimize(() => sortingLoss(tf.reshape(net(x), [B, K]), z, o) as Scalar);
    ms += performance.now() - t0;
    tf.dispose([x, z]);
    if (checkpoints.includes(step)) {
      const scores = tf.tidy(() => net(heldBatch.x).dataSync());
      let rho = 0;
      held.forEach((h, b) => (rho += spearman(scores.subarray(b * 32, (b + 1) * 32), h.z)));
      const allT = new Float32Array(held.length * 32);
      held.forEach((h, b) => allT.set(h.t, b * 32));
      out.push({ at: step, rho: rho / held.length, pooled: spearman(scores, allT), linear: pearson(scores, allT) ** 2, ms: ms / step });
    }
  }
  tf.dispose([w1, b1, w2, heldBatch.x, heldBatch.z]);
  opt.dispose();
  return out;
}

it('compare SortingLoss variants', async () => {
  await tf.setBackend('cpu');
  gradientSignal();
  const checkpoints = [25, 100, 300];
  const seeds = [1, 2, 3, 4, 5];
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const sd = (v: number[]) => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));
  for (const noiseSd of [0.1, 0.4]) {
    console.log(
      `\n2. toy body-part regression, feature noise ${noiseSd}, ${seeds.length} seeds: held-out within-volume ρ (± sd over seeds) / pooled ρ(score, t) / pooled Pearson r²(score, t), at steps ${checkpoints.join(', ')}`,
    );
    for (const [name, o] of VARIANTS) {
      const runs = seeds.map((s) => train(o, s, 300, checkpoints, noiseSd));
      const cells = checkpoints.map((c, i) => {
        const rho = runs.map((r) => r[i]!.rho);
        const pooled = runs.map((r) => r[i]!.pooled);
        const linear = runs.map((r) => r[i]!.linear);
        return `@${c}: ${mean(rho).toFixed(3)}±${sd(rho).toFixed(3)} / ${mean(pooled).toFixed(3)} / ${mean(linear).toFixed(3)}`;
      });
      const ms = mean(runs.map((r) => r[r.length - 1]!.ms));
      console.log(`  ${name.padEnd(14)} ${cells.join('   ')}   (${ms.toFixed(1)} ms/step)`);
    }
  }
});
