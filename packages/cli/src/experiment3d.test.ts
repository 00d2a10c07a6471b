import { startNodeBackend } from '@tomosort/native';
import { beforeAll, describe, expect, it } from 'vitest';
import { QUICK_EXPERIMENT } from './commands/experiment';
import { experimentMarkdown } from './experiment/report';
import { runExperiment } from './experiment/run';
import type { ExperimentConfig } from './experiment/run';

let backend: string;
beforeAll(async () => {
  backend = (await startNodeBackend(undefined, { threads: 1 })).label;
});

// The harness runs the 3D seed methods beside the 2D ones: pre-trained on the same phantoms, fine-tuned
// (as 3D U-Nets) on the same held-out subject and annotated slices, with their cost; at a toy size.
const TINY: ExperimentConfig = {
  ...QUICK_EXPERIMENT,
  methods: ['interpolation', 'rotation3d', 'cspr'],
  pretrain: { ...QUICK_EXPERIMENT.pretrain, subjects: 4, steps: 3 },
  finetune: { frozenSteps: 2, steps: 2, batch: 2, learningRate: 3e-3 },
  budgets: [2],
  seeds: [1],
  phantomSubjects: 1,
  timeToQuality: undefined,
  real: [],
  sameSubject: undefined,
  volumetric: { cube: 16, patch: 8, samples: 2, permutations: 10, depth: 8, batch: 1 },
};

describe('experiment with 3D methods (rotation3d, CSPR) beside interpolation: tiny run in process', () => {
  it('pre-trains each (time, step memory, loss curve), fine-tunes it on the same unit as interpolation, reports no slice scores for them', async () => {
    const lines: string[] = [];
    const r = await runExperiment(TINY, backend, (m) => lines.push(m));
    for (const m of ['rotation3d', 'cspr']) {
      expect(r.pretrainSeconds[m], m).toBeGreaterThan(0);
      expect(r.peakBytes[m], m).toBeGreaterThan(0);
      expect(r.pretrainLoss[m]!.length, m).toBe(3);
      expect(r.spearman[m], m).toBeUndefined();
      const d = r.dice[m]!['2']!;
      expect(d.samples).toHaveLength(1);
      expect(d.samples[0]!).toBeGreaterThanOrEqual(0);
      expect(d.samples[0]!).toBeLessThanOrEqual(1);
    }
    expect(r.dice.interpolation!['2']!.samples).toHaveLength(1);
    const md = experimentMarkdown(r, 'tomosort experiment (test)', 'test', {});
    expect(md).toContain('| 3D rotation |');
    expect(md).toContain('| CSPR (3D ResNet) |');
    expect(md).toContain('3D methods draw 2 samples a step');
  }, 600_000);
});
