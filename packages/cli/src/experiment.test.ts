import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedis } from '@tomosort/queue/local';
import { runTomosort, startTomosort } from './testing';

const scratch = mkdtempSync(join(tmpdir(), 'tomosort-experiment-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Width and height from a PNG's IHDR, after checking the signature. */
function pngSize(bytes: Buffer): [number, number] {
  expect([...bytes.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  expect(bytes.toString('latin1', 12, 16)).toBe('IHDR');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

/** The small grid of the resume and queue tests, and the uninterrupted in-process run's result.json (set by the resume test). */
const SMALL_GRID = ['experiment', '--quick', '--methods', 'interpolation,sorting', '--steps', '10', '--seeds', '1', '--no-cranium', '--no-colin27'];
let wholeResult: string | undefined;

interface ExperimentJson {
  dice: Record<string, Record<string, { mean: number; sd: number; n: number; ci95: [number, number]; samples: number[] }>>;
  differences: Record<string, Record<string, { mean: number; ci95: [number, number]; real: boolean }>>;
  localizationMm: Record<string, Record<string, number | null>>;
  localizationReferences: Record<string, { fitted: number; tried: number }>;
  localizationCoverage: Record<string, Record<string, { stacks: number; pairs: number; calibrated50: number; calibrated90: number; referenceOnly50: number; referenceOnly90: number } | null>>;
  spearman: Record<string, number>;
  pretrainSeconds: Record<string, number>;
  peakBytes: Record<string, number>;
  cranium?: { dice: Record<string, Record<string, { mean: number }>> };
}

describe('tomosort experiment (a quick subset: scratch, interpolation and SortingLoss in 2 processes, 32², 2 seeds)', () => {
  it('prints the JSON the issue names and writes report.md, result.json and PNG plots', async () => {
    const out = join(scratch, 'report');
    const run = await runTomosort([
      'experiment', '--quick', '--methods', 'scratch,interpolation,sorting', '--budgets', '2,5', '--steps', '20', '--seeds', '2', '--no-cranium', '--no-colin27', '--jobs', '2', '--out', out, '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout) as ExperimentJson;
    expect(Object.keys(r.dice)).toEqual(['scratch', 'interpolation', 'sorting']);
    for (const m of ['scratch', 'interpolation', 'sorting']) {
      expect(Object.keys(r.dice[m]!)).toEqual(['2', '5']);
      for (const v of Object.values(r.dice[m]!)) {
        // 2 seeds × 1 subject: the mean and interval of the units' Dice.
        expect(v.samples).toHaveLength(2);
        expect(v.n).toBe(2);
        expect(v.mean).toBeCloseTo((v.samples[0]! + v.samples[1]!) / 2, 12);
        expect(v.ci95[0]).toBeLessThanOrEqual(v.mean);
        expect(v.ci95[1]).toBeGreaterThanOrEqual(v.mean);
        for (const x of v.samples) {
          expect(x).toBeGreaterThan(0);
          expect(x).toBeLessThanOrEqual(1);
        }
      }
    }
    // The paired differences are SortingLoss minus each other method over the same units.
    expect(Object.keys(r.differences).sort()).toEqual(['interpolation', 'scratch']);
    for (const [m, byK] of Object.entries(r.differences)) {
      for (const [k, d] of Object.entries(byK)) {
        const a = r.dice.sorting![k]!.samples;
        const b = r.dice[m]![k]!.samples;
        expect(d.mean).toBeCloseTo((a[0]! - b[0]! + a[1]! - b[1]!) / 2, 12);
        expect(d.real).toBe(d.ci95[0] > 0 || d.ci95[1] < 0);
      }
    }
    // Interpolation trains no network: no pre-training, scores or localization.
    expect(r.pretrainSeconds.interpolation).toBeUndefined();
    expect(r.spearman.interpolation).toBeUndefined();
    for (const m of ['scratch', 'sorting']) {
      expect(Object.keys(r.localizationMm[m]!)).toEqual(['1', '3', '10']);
      expect(Math.abs(r.spearman[m]!)).toBeLessThanOrEqual(1);
      expect(r.localizationReferences[m]!.tried).toBe(5);
      // Leave-two-out coverage on the 5 localization subjects: per size, null (no pair could be
      // calibrated on the other 3 after 20 steps) or 3 stacks per pair with rates in [0, 1].
      expect(Object.keys(r.localizationCoverage[m]!)).toEqual(['1', '3', '10']);
      for (const c of Object.values(r.localizationCoverage[m]!)) {
        if (c === null) continue;
        expect(c.stacks).toBe(3 * c.pairs);
        for (const x of [c.calibrated50, c.calibrated90, c.referenceOnly50, c.referenceOnly90]) expect(x >= 0 && x <= 1).toBe(true);
        expect(c.calibrated90).toBeGreaterThanOrEqual(c.calibrated50);
      }
    }
    // Scratch is not pre-trained: no time, no memory; SortingLoss is.
    expect(r.pretrainSeconds.scratch).toBe(0);
    expect(r.pretrainSeconds.sorting).toBeGreaterThan(0);
    expect(r.peakBytes.sorting).toBeGreaterThan(1e6);
    expect(r.cranium).toBeUndefined();

    const saved = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as ExperimentJson;
    expect(saved.dice).toEqual(r.dice);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('| SortingLoss |');
    expect(report).toContain('| SortingLoss − interpolation (contour, OHIF) |');
    expect(report).toContain('## Pre-training cost at 32 source slices per step');
    expect(report).toContain('![Dice vs annotated slices](dice-phantom.png)');
    // 420 px high; at least 640 wide, wider when a legend name needs it (plot.test pins the rule).
    for (const png of ['dice-phantom.png', 'localization-phantom.png']) {
      const [w, h] = pngSize(readFileSync(join(out, png)));
      expect(h).toBe(420);
      expect(w).toBeGreaterThanOrEqual(640);
    }
  }, 300_000);

  it('a stopped run continues with --resume: finished units are reused, and the result equals an uninterrupted run', async () => {
    // Without --json, so that the progress log shows what is run and what is reused.
    // One seed and 10 steps keep it short (the suite's budget); the snapshot is at step 5.
    const common = SMALL_GRID;
    const dir = join(scratch, 'resumed');
    // The first sitting stops after budget 2 (as if the session ended there).
    const first = await runTomosort([...common, '--budgets', '2', '--out', dir]);
    expect(first.code, first.stderr).toBe(0);
    const again = await runTomosort([...common, '--budgets', '2,5', '--out', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/holds \d+ finished units of this configuration: add --resume/);
    const resumed = await runTomosort([...common, '--budgets', '2,5', '--out', dir, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming: \d+ finished units/);
    // The pre-training is not run again: no step lines, no resumed training.
    expect(resumed.stderr).not.toMatch(/sorting: step \d+\/10/);
    expect(resumed.stderr).not.toContain('resuming pre-training');
    const whole = await runTomosort([...common, '--budgets', '2,5', '--out', join(scratch, 'whole')]);
    expect(whole.code, whole.stderr).toBe(0);
    wholeResult = join(scratch, 'whole', 'result.json');
    type WithQuality = ExperimentJson & { timeToQuality: Record<string, { step: number; dice: { samples: number[] } }[]> };
    const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as WithQuality;
    const w = JSON.parse(readFileSync(join(scratch, 'whole', 'result.json'), 'utf8')) as WithQuality;
    expect(r.dice).toEqual(w.dice);
    expect(r.spearman).toEqual(w.spearman);
    // (Times differ between runs; the Dice of each snapshot does not.)
    const quality = (x: WithQuality) => Object.fromEntries(Object.entries(x.timeToQuality).map(([m, pts]) => [m, pts.map((p) => ({ step: p.step, dice: p.dice }))]));
    expect(quality(r)).toEqual(quality(w));
    // Time to quality: the snapshot at half the steps, then the finished encoder.
    expect(w.timeToQuality.sorting!.map((p) => p.step)).toEqual([5, 10]);
    expect(w.timeToQuality.sorting![1]!.dice.samples).toEqual([w.dice.sorting!['2']!.samples[0]]);
  }, 600_000);

  it('the same grid on a real redis-server with 2 worker processes: jobs per pre-training and per (budget, seed, subject), the same results', async () => {
    const redis = await startRedis();
    const workers = [0, 1].map(() => startTomosort(['worker', '--queue', redis.url]));
    try {
      await Promise.all(workers.map((w) => w.waitFor(/waiting for jobs/)));
      const dir = join(scratch, 'queued');
      // The workers' own folder: units reach --out only as the jobs' results, through Redis.
      const workerDir = join(scratch, 'queued-workers');
      const run = await runTomosort([...SMALL_GRID, '--budgets', '2,5', '--out', dir, '--worker-out', workerDir, '--queue', redis.url]);
      expect(run.code, run.stderr).toBe(0);
      const unitsIn = (d: string): string[] => (existsSync(d) ? readdirSync(d, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.unit.json')).sort() : []);
      expect(unitsIn(join(dir, 'work')).length).toBeGreaterThan(0);
      expect(unitsIn(join(dir, 'work'))).toEqual(unitsIn(join(workerDir, 'work')));
      // The pre-trained model stays with the workers.
      expect(readdirSync(join(workerDir, 'work'), { recursive: true, encoding: 'utf8' }).some((f) => f.endsWith('model.json'))).toBe(true);
      expect(readdirSync(join(dir, 'work'), { recursive: true, encoding: 'utf8' }).some((f) => f.endsWith('model.json'))).toBe(false);
      if (!wholeResult) {
        const whole = await runTomosort([...SMALL_GRID, '--budgets', '2,5', '--out', join(scratch, 'whole-for-queue')]);
        expect(whole.code, whole.stderr).toBe(0);
        wholeResult = join(scratch, 'whole-for-queue', 'result.json');
      }
      type WithQuality = ExperimentJson & { timeToQuality: Record<string, { step: number; dice: unknown }[]> };
      const q = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as WithQuality;
      const w = JSON.parse(readFileSync(wholeResult, 'utf8')) as WithQuality;
      expect(q.dice).toEqual(w.dice);
      expect(q.differences).toEqual(w.differences);
      expect(q.spearman).toEqual(w.spearman);
      expect(q.localizationMm).toEqual(w.localizationMm);
      expect(q.localizationCoverage).toEqual(w.localizationCoverage);
      expect(q.peakBytes).toEqual(w.peakBytes);
      const quality = (x: WithQuality) => Object.fromEntries(Object.entries(x.timeToQuality).map(([m, pts]) => [m, pts.map((p) => ({ step: p.step, dice: p.dice }))]));
      expect(quality(q)).toEqual(quality(w));
      // The jobs: SortingLoss's pre-training, then its two (budget, seed, subject) shares; interpolation's two at once.
      const done = workers.flatMap((x) => [...x.output().matchAll(/done (exp-\w+-(\w+)-(pretrain|k\d+-s\d+-\w+)):/g)].map((m) => `${m[2]}-${m[3]}`));
      expect(done.sort()).toEqual(['interpolation-k2-s1-phantom', 'interpolation-k5-s1-phantom', 'sorting-k2-s1-phantom', 'sorting-k5-s1-phantom', 'sorting-pretrain']);
      expect(workers.every((x) => /done exp-/.test(x.output()))).toBe(true);
    } finally {
      for (const x of workers) x.kill('SIGTERM');
      await Promise.all(workers.map((x) => x.exited));
      await redis.stop();
    }
  }, 600_000);

  it('refuses an unknown method with exit code 2', async () => {
    const run = await runTomosort(['experiment', '--quick', '--methods', 'sorting,mae']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown method "mae"');
    const steps = await runTomosort(['experiment', '--quick', '--finetune-steps', '20']);
    expect(steps.code).toBe(2);
    expect(steps.stderr).toContain('--finetune-steps: two counts, W,N');
  });
});
