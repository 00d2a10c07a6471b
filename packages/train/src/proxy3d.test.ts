import { createModel, encoderSpec } from '@tomosort/models';
import { initNativeBackend, uninstallNativeKernels } from '@tomosort/native';
import { loadPrepared, phantomSources } from '@tomosort/pretext';
import { mixSeed, mulberry32 } from '@tomosort/random';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asTrainable } from './adapt';
import { train } from './loop';
import { drawProxy3d, proxy3dAccuracy, proxy3dModelSpec } from './proxy3d';
import { csprAccuracy, csprModelSpec, csprTask } from './cspr';
import { labelledPhantomSlices } from '@tomosort/pretext';
import type { Proxy3dConfig } from './proxy3d';

// Each 3D proxy task, pre-trained briefly on phantom subjects, lowers its own loss and does its
// task on held-out subjects better than chance — over 3 seeds (weights and batches), pooled
// into a one-sided binomial test at the 1 % level.

const window = { center: 40, width: 400 };
const SEEDS = [0, 1, 2];
const STEPS = 100;
let train8: Awaited<ReturnType<typeof loadPrepared>>;
let heldOut: typeof train8;

beforeAll(async () => {
  await initNativeBackend({ threads: 2 });
  // 12 mm voxels: a 16³ cube spans 19 cm, a 32² slice the whole torso.
  const all = await loadPrepared(phantomSources({ subjects: 10, seed: 0, size: 64 }), { plane: 'axial', size: 32, mmPerPixel: 12, window });
  train8 = all.slice(0, 8);
  heldOut = all.slice(8);
}, 120_000);
afterAll(() => uninstallNativeKernels());

const grid = (patch: number, cells: number, jitter: number) => ({ grid: cells, patch, jitter });
const CASES: readonly (readonly [Proxy3dConfig, number, number])[] = [
  // [the task, its steps, how many held-out samples its evaluation batch draws]
  [{ kind: 'rotation3d', samples: 8, side: 16 }, STEPS, 64],
  [{ kind: 'rpl3d', samples: 8, grid: grid(8, 3, 2) }, STEPS, 64],
  // jigsaw and CPC learn fastest and cost most a step (27 and 64 patches a sample)
  [{ kind: 'jigsaw3d', samples: 2, grid: grid(8, 3, 2), permutations: 20 }, 40, 16],
  [{ kind: 'exemplar3d', samples: 8, side: 16 }, STEPS, 64],
  [{ kind: 'cpc3d', samples: 2, grid: grid(8, 4, 0), contextRows: 2 }, 50, 8],
];
const mean = (a: readonly number[]) => a.reduce((s, v) => s + v, 0) / a.length;

describe(`3D proxy tasks: 40–${STEPS} steps on 8 phantom subjects (unet-down 3D at width 0.5), ${SEEDS.length} seeds`, () => {
  it.each(CASES.map(([m, steps, n]) => [m.kind, steps, m, n] as const))('%s, %i steps, lowers its loss (last 20 steps vs first 20) and beats chance on 2 held-out subjects', async (_k, steps, m, evalSamples) => {
    let hits = 0;
    let trials = 0;
    let chance = 0;
    const perSeed: string[] = [];
    for (const seed of SEEDS) {
      const model = createModel(proxy3dModelSpec(m, encoderSpec('unet-down', { dims: 3, width: 0.5 })), { seed });
      const trainable = asTrainable(model);
      const r = await train({
        model: trainable,
        volumes: train8,
        config: { method: m, steps, learningRate: 1e-3, optimizer: { kind: 'adam' }, schedule: { kind: 'cosine', warmupSteps: 5 }, clipNorm: 5, window, seed, checkpointEvery: 0 },
      });
      const first = mean(r.losses.slice(0, 20));
      const last = mean(r.losses.slice(-20));
      expect(last, `seed ${seed}: mean loss of the last 20 steps vs the first 20`).toBeLessThan(first);
      const evaluation = drawProxy3d({ ...m, samples: evalSamples } as Proxy3dConfig, heldOut, window, mulberry32(mixSeed(99, seed)));
      const a = proxy3dAccuracy(m, trainable, evaluation);
      const n = m.kind === 'cpc3d' ? evaluation.shape[0] / 2 : m.kind === 'exemplar3d' ? evaluation.shape[0] / 3 : evaluation.labels.length;
      hits += a.accuracy * n;
      trials += n;
      chance = a.chance;
      perSeed.push(`seed ${seed}: loss ${first.toFixed(3)} → ${last.toFixed(3)}, held-out accuracy ${a.accuracy.toFixed(3)}`);
      model.dispose();
    }
    // One-sided binomial z-test of the pooled accuracy against chance (z > 2.33: p < 0.01).
    const p = hits / trials;
    const z = (p - chance) / Math.sqrt((chance * (1 - chance)) / trials);
    console.log(`${m.kind}: ${perSeed.join('; ')}; pooled ${p.toFixed(3)}, z ${z.toFixed(1)}`);
    expect(z, `${perSeed.join('; ')}; pooled ${p.toFixed(3)} over ${trials} vs chance ${chance.toFixed(3)}`).toBeGreaterThan(2.33);
  }, 600_000);
});

describe(`CSPR: ${STEPS} steps on the labelled slices of 8 phantom subjects (small 3D, in-plane strides), ${SEEDS.length} seeds`, () => {
  it('lowers its loss (last 20 steps vs first 20) and classifies held-out subjects’ slices better than always naming their commonest class', async () => {
    const prepare = { plane: 'axial' as const, size: 32, mmPerPixel: 12, window };
    const trainSlices = labelledPhantomSlices({ subjects: 8, seed: 0, phantomSize: 64, prepare });
    const heldSlices = labelledPhantomSlices({ subjects: 2, first: 8, seed: 0, phantomSize: 64, prepare, classes: trainSlices.classes });
    let hits = 0;
    let trials = 0;
    let chance = 0;
    const perSeed: string[] = [];
    for (const seed of SEEDS) {
      const model = createModel(csprModelSpec(encoderSpec('small', { dims: 3, inPlaneStrides: true }), trainSlices.classes.length), { seed });
      const trainable = asTrainable(model);
      const task = csprTask(trainSlices, { samples: 16, window });
      const r = await train({
        model: trainable,
        task,
        config: { method: { kind: 'task', name: 'cspr', slicesPerStep: task.slicesPerStep, settings: {} }, steps: STEPS, learningRate: 1e-3, optimizer: { kind: 'adam' }, schedule: { kind: 'cosine', warmupSteps: 5 }, clipNorm: 5, window, seed, checkpointEvery: 0 },
      });
      const first = mean(r.losses.slice(0, 20));
      const last = mean(r.losses.slice(-20));
      expect(last, `seed ${seed}: mean loss of the last 20 steps vs the first 20`).toBeLessThan(first);
      const a = csprAccuracy(trainable, heldSlices, window, mulberry32(mixSeed(77, seed)), 128);
      hits += a.accuracy * 128;
      trials += 128;
      chance += a.chance / SEEDS.length;
      perSeed.push(`seed ${seed}: loss ${first.toFixed(3)} → ${last.toFixed(3)}, held-out accuracy ${a.accuracy.toFixed(3)} (commonest class ${a.chance.toFixed(3)})`);
      model.dispose();
    }
    const p = hits / trials;
    const z = (p - chance) / Math.sqrt((chance * (1 - chance)) / trials);
    console.log(`cspr: ${perSeed.join('; ')}; pooled ${p.toFixed(3)}, z ${z.toFixed(1)} against the mean commonest-class share ${chance.toFixed(3)}`);
    expect(z, perSeed.join('; ')).toBeGreaterThan(2.33);
  }, 600_000);
});
