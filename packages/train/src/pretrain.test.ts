import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@tomosort/backend/node';
import { createModel, encoderSpec, scoreModelSpec } from '@tomosort/models';
import { SORTING_AUGMENTATION, loadPrepared, phantomSources } from '@tomosort/pretext';
import { phantomSubject } from '@tomosort/samples';
import { asTrainable } from './adapt';
import { evaluateSorting } from './evaluate';
import { train } from './loop';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

describe('SortingLoss pre-training of the small ResNet on sample:phantom (wasm, 32²)', () => {
  // Measured here: ρ 0.05 → 0.61 after 150 steps, 0.71 after 300 (4 held-out subjects). The
  // issue's target is > 0.9; this test guards that learning happens while that is worked on.
  it('raises held-out slice-order Spearman ρ from near 0 to above 0.5 in 150 steps', async () => {
    const window = { center: 0, width: 2000 };
    const trainSet = await loadPrepared(phantomSources({ subjects: 24, seed: 0 }), { plane: 'axial', size: 32 });
    // Held-out subjects from another seed whose scans span at least 250 mm of the body: a short
    // scan of the legs has too little anatomy along its length for any order to be learnable.
    const candidates = phantomSources({ subjects: 12, seed: 1 }).filter((_, n) => {
      const [top, bottom] = phantomSubject(n, 1).zRangeMm;
      return Math.abs(bottom - top) >= 250;
    });
    const heldOut = await loadPrepared(candidates.slice(0, 4), { plane: 'axial', size: 32 });
    expect(heldOut).toHaveLength(4);

    const model = createModel(scoreModelSpec(encoderSpec('small')), { seed: 1 });
    const net = asTrainable(model);
    const before = await evaluateSorting(net, heldOut, window);
    await train({
      model: net,
      volumes: trainSet,
      config: {
        method: { kind: 'sorting', volumesPerBatch: 4, slicesPerVolume: 8, gapMm: [5, 40], augmentation: { ...SORTING_AUGMENTATION, rotationDeg: 0, flip: false } },
        steps: 150,
        learningRate: 3e-3,
        optimizer: { kind: 'adam' },
        schedule: { kind: 'cosine', warmupSteps: 10 },
        clipNorm: 5,
        window,
        seed: 0,
        checkpointEvery: 0,
      },
    });
    const after = await evaluateSorting(net, heldOut, window);
    model.dispose();
    expect(Math.abs(before.spearman)).toBeLessThan(0.6);
    expect(after.spearman).toBeGreaterThan(0.5);
    expect(after.spearman - before.spearman).toBeGreaterThan(0.3);
  }, 300_000);
});
