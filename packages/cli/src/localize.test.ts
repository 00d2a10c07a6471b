import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phantomSubject } from '@tomosort/samples';
import { voxelCoord, voxelToPatient } from '@tomosort/volume';
import { runTomosort } from './testing';

const scratch = mkdtempSync(join(tmpdir(), 'tomosort-localize-'));
const model = join(scratch, 'pretrained', 'model');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(async () => {
  // A briefly pre-trained score model (80 SortingLoss steps, 32²): enough to order some series.
  const run = await runTomosort(['pretrain', '--model', 'small', '--size', '32', '--batch', '32', '--slices', '8', '--steps', '80', '--source', 'sample:phantom:12', '--seed', '3', '--out', join(scratch, 'pretrained'), '--json']);
  expect(run.code, run.stderr).toBe(0);
}, 180_000);

interface Summary {
  series: string;
  slices: number;
  firstMm: number;
  rho: number;
  order: { kind: string }[];
  location?: { startMm: number; sdMm: number; referenceRho: number; sameFrame: boolean };
}

describe('tomosort localize (phantom subjects of another cohort seed)', () => {
  it('scores every axial slice and reports the order check', async () => {
    const run = await runTomosort(['localize', '--model', model, '--series', 'sample:phantom:3', '--seed', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    expect(s.slices).toBe(77);
    expect(Math.abs(s.rho)).toBeLessThanOrEqual(1);
    for (const f of s.order) expect(['reversed', 'shuffled', 'missing', 'inconclusive']).toContain(f.kind);
    expect(s.location).toBeUndefined();
  }, 60_000);

  it('placed inside itself, a series lands at its own first-slice position', async () => {
    const run = await runTomosort(['localize', '--model', model, '--series', 'sample:phantom:3', '--reference', 'sample:phantom:3', '--seed', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    expect(s.location?.sameFrame).toBe(true);
    expect(Math.abs(s.location!.referenceRho)).toBeGreaterThanOrEqual(0.5);
    expect(Math.abs(s.location!.startMm - s.firstMm)).toBeLessThan(50);
  }, 60_000);

  it('a #slices= cut placed in its full volume shares its frame: localize reports where the cut truly lies', async () => {
    // Truth: slice 20 of sample:phantom:3 (seed 1), computed from the phantom itself, not by the CLI.
    const full = phantomSubject(3, 1).volume;
    const truthMm = voxelToPatient(full, voxelCoord(0, 0, 20))[2];
    const run = await runTomosort(['localize', '--model', model, '--series', 'sample:phantom:3#slices=20-29', '--reference', 'sample:phantom:3', '--seed', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    expect(s.series).toBe('sample:phantom:3 (seed 1), slices 20-29');
    expect(s.slices).toBe(10);
    expect(s.firstMm).toBeCloseTo(truthMm, 6);
    expect(s.location?.sameFrame).toBe(true);
    const text = await runTomosort(['localize', '--model', model, '--series', 'sample:phantom:3#slices=20-29', '--reference', 'sample:phantom:3', '--seed', '1']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`the series' own geometry says ${truthMm.toFixed(1)} mm (same frame of reference)`);
  }, 60_000);

  it('refuses, in plain words and without a stack trace, a reference the model does not order', async () => {
    const run = await runTomosort(['localize', '--model', model, '--series', 'sample:phantom:0', '--reference', 'sample:phantom:0', '--seed', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tomosort: the model's scores do not order the reference's slices \(Spearman ρ = /);
    expect(run.stderr).not.toContain('    at ');
  }, 60_000);
});
