import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTomosort } from './testing';

const scratch = mkdtempSync(join(tmpdir(), 'tomosort-experiment-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Width and height from a PNG's IHDR, after checking the signature. */
function pngSize(bytes: Buffer): [number, number] {
  expect([...bytes.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  expect(bytes.toString('latin1', 12, 16)).toBe('IHDR');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

interface ExperimentJson {
  dice: Record<string, Record<string, { mean: number; sd: number }>>;
  localizationMm: Record<string, Record<string, number | null>>;
  localizationReferences: Record<string, { fitted: number; tried: number }>;
  spearman: Record<string, number>;
  pretrainSeconds: Record<string, number>;
  peakBytes: Record<string, number>;
  cranium?: { dice: Record<string, Record<string, { mean: number }>> };
}

describe('tomosort experiment (a quick subset: scratch vs SortingLoss in 2 processes, wasm, 32²)', () => {
  it('prints the JSON the issue names and writes report.md, result.json and PNG plots', async () => {
    const out = join(scratch, 'report');
    const run = await runTomosort(['experiment', '--quick', '--methods', 'scratch,sorting', '--budgets', '2,5', '--steps', '20', '--no-cranium', '--jobs', '2', '--out', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout) as ExperimentJson;
    expect(Object.keys(r.dice)).toEqual(['scratch', 'sorting']);
    for (const m of ['scratch', 'sorting']) {
      expect(Object.keys(r.dice[m]!)).toEqual(['2', '5']);
      for (const v of Object.values(r.dice[m]!)) {
        expect(v.mean).toBeGreaterThan(0);
        expect(v.mean).toBeLessThanOrEqual(1);
      }
      expect(Object.keys(r.localizationMm[m]!)).toEqual(['1', '3', '10']);
      expect(Math.abs(r.spearman[m]!)).toBeLessThanOrEqual(1);
      expect(r.localizationReferences[m]!.tried).toBe(3);
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
    expect(report).toContain('![Dice vs annotated slices](dice-phantom.png)');
    expect(pngSize(readFileSync(join(out, 'dice-phantom.png')))).toEqual([640, 420]);
    expect(pngSize(readFileSync(join(out, 'localization-phantom.png')))).toEqual([640, 420]);
  }, 300_000);

  it('refuses an unknown method with exit code 2', async () => {
    const run = await runTomosort(['experiment', '--quick', '--methods', 'sorting,mae']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown method "mae"');
  });
});
