import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSeries } from '@tomosort/dicom';
import type { OrderFinding } from '@tomosort/localize';
import { mulberry32 } from '@tomosort/random';
import { phantomSubject } from '@tomosort/samples';
import { voxelCoord, voxelToPatient } from '@tomosort/volume';
import type { PatientMm, Volume } from '@tomosort/volume';
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
  judged: number;
  blankSlices: number[];
  expectedRho: number | null;
  order: OrderFinding[];
  location?: { startMm: number; sdMm: number; within50Mm: number; within90Mm: number; uncertainty: 'calibrated' | 'reference-only'; referenceRho: number; sameFrame: boolean };
}

describe('tomosort localize (phantom subjects of another cohort seed)', () => {
  it('scores every axial slice and reports the order check', async () => {
    const run = await runTomosort(['localize', '--model', model, '--series', 'sample:phantom:3', '--seed', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    expect(s.slices).toBe(77);
    // The phantom has no blank slice: all judged; the model's ρ on intact volumes comes from its manifest.
    expect(s).toMatchObject({ judged: 77, blankSlices: [] });
    const manifest = JSON.parse(readFileSync(join(model, 'model.json'), 'utf8')) as { modelTopology: { metrics: { heldOutSpearman: number } } };
    expect(s.expectedRho).toBe(manifest.modelTopology.metrics.heldOutSpearman);
    expect(Math.abs(s.rho)).toBeLessThanOrEqual(1);
    for (const f of s.order) expect(['reversed', 'shuffled', 'missing', 'inconclusive']).toContain(f.kind);
    expect(s.location).toBeUndefined();
  }, 60_000);

  it('refuses, in plain words and without a stack trace, a reference whose content order carries no position (shuffled slices)', async () => {
    // A random order of 77 slices has |ρ| ≥ 0.5 with probability < 1e-4 whatever the model scores.
    const v = phantomSubject(3, 1, { size: 64 }).volume;
    const rng = mulberry32(3);
    const order = [...Array(v.dims[2]).keys()];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const reference = seriesFolder('shuffled-reference', rearranged(v, order));
    const run = await runTomosort(['localize', '--model', model, '--series', 'sample:phantom:3', '--reference', reference, '--seed', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tomosort: the model's scores do not order the reference's slices \(Spearman ρ = -?0\.[0-4]\d, need \|ρ\| ≥ 0\.5\)/);
    expect(run.stderr).not.toContain('    at ');
  }, 60_000);
});

/** A DICOM series folder of `v` (int16 HU) under the scratch folder. */
function seriesFolder(name: string, v: Volume<Int16Array>): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  writeSeries(v, { seriesDescription: name }).files.forEach((f, k) => writeFileSync(join(dir, `${String(k).padStart(4, '0')}.dcm`), f));
  return dir;
}

/** `v` with its slices' voxels rearranged (`order[k]` = the source slice of slice k), geometry unchanged. */
function rearranged(v: Volume<Int16Array>, order: readonly number[]): Volume<Int16Array> {
  const plane = v.dims[0] * v.dims[1];
  const data = new Int16Array(v.data.length);
  order.forEach((src, k) => data.set(v.data.subarray(src * plane, (src + 1) * plane), k * plane));
  return { ...v, data };
}

/** `v` with `below` and `above` air slices (−1000 HU ± 10) added; the positions continue the spacing. */
function withAir(v: Volume<Int16Array>, below: number, above: number): Volume<Int16Array> {
  const plane = v.dims[0] * v.dims[1];
  const rng = mulberry32(5);
  const data = Int16Array.from({ length: (v.dims[2] + below + above) * plane }, () => Math.round(-1000 + 20 * (rng() - 0.5)));
  data.set(v.data, below * plane);
  const d = v.direction[2];
  const shift = below * v.spacing[2];
  const origin = [v.origin[0] - shift * d[0], v.origin[1] - shift * d[1], v.origin[2] - shift * d[2]] as unknown as PatientMm;
  return { ...v, data, dims: [v.dims[0], v.dims[1], v.dims[2] + below + above], origin };
}

describe('tomosort localize order check (a 600-step model; DICOM series of held-out phantom subject 10, content rearranged)', () => {
  const ordering = join(scratch, 'ordering', 'model');
  const subject = phantomSubject(10, 1, { size: 64 });
  const n = subject.volume.dims[2];
  const check = async (dir: string, ...extra: string[]) => {
    const run = await runTomosort(['localize', '--model', ordering, '--series', dir, '--json', ...extra]);
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as Summary;
  };
  beforeAll(async () => {
    // Same recipe as above, 600 steps: held-out ρ ≈ 0.9 (it orders intact phantoms).
    const run = await runTomosort(['pretrain', '--model', 'small', '--size', '32', '--batch', '32', '--slices', '8', '--steps', '600', '--source', 'sample:phantom:12', '--seed', '3', '--calibrate', '0', '--out', join(scratch, 'ordering'), '--json']);
    expect(run.code, run.stderr).toBe(0);
  }, 300_000);

  it('blank slices at both ends: left out and listed; the findings and ρ are those of the series without them', async () => {
    const intact = await check(seriesFolder('intact', subject.volume));
    const padded = await check(seriesFolder('air-ends', withAir(subject.volume, 3, 2)));
    expect(intact).toMatchObject({ slices: n, judged: n, blankSlices: [] });
    expect(intact.rho).toBeGreaterThan(0.5);
    expect(padded).toMatchObject({ slices: n + 5, judged: n, blankSlices: [0, 1, 2, n + 3, n + 4] });
    expect(padded.rho).toBeCloseTo(intact.rho, 6);
    const shifted = intact.order.map((f) => (f.kind === 'shuffled' && f.extent === 'slices' ? { ...f, slices: f.slices.map((k) => k + 3) } : f.kind === 'missing' ? { ...f, after: f.after + 3 } : f));
    expect(padded.order).toEqual(shifted);
    const text = await runTomosort(['localize', '--model', ordering, '--series', join(scratch, 'air-ends')]);
    expect(text.stdout).toContain(`${n + 5} axial slices (5 blank, left out of the order check: 0, 1, 2, ${n + 3}, ${n + 4})`);
  }, 120_000);

  it("placed inside itself: the reference's ρ is the series' own, and the first slice lands inside the stated 90 % interval of its own position", async () => {
    const dir = seriesFolder('self', subject.volume);
    const alone = await check(dir);
    const run = await runTomosort(['localize', '--model', ordering, '--series', dir, '--reference', dir, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    expect(s.location?.sameFrame).toBe(true);
    // No blank slices: the map's ρ is over the same slices as the order check's.
    expect(s.location!.referenceRho).toBeCloseTo(alone.rho, 9);
    // Pre-trained with --calibrate 0 (no localization calibration): the interval is the reference's own spread,
    // which is what a stack of the reference's own subject needs (one seeded draw at 90 %).
    expect(s.location!.uncertainty).toBe('reference-only');
    expect(s.location!.within90Mm).toBeGreaterThan(s.location!.within50Mm);
    expect(Math.abs(s.location!.startMm - s.firstMm)).toBeLessThanOrEqual(s.location!.within90Mm);
    const text = await runTomosort(['localize', '--model', ordering, '--series', dir, '--reference', dir]);
    expect(text.stdout).toContain(`90 % within ± ${s.location!.within90Mm.toFixed(1)} mm (reference-only: the model has no localization calibration`);
  }, 120_000);

  it('a #slices= cut placed in its full volume shares its frame: localize reports where the cut truly lies', async () => {
    // Truth: slice 20 of sample:phantom:10 (seed 1), computed from the phantom itself, not by the CLI;
    // the 600-step model orders this subject, so its reference can be fitted.
    const full = phantomSubject(10, 1).volume;
    const truthMm = voxelToPatient(full, voxelCoord(0, 0, 20))[2];
    const run = await runTomosort(['localize', '--model', ordering, '--series', 'sample:phantom:10#slices=20-29', '--reference', 'sample:phantom:10', '--seed', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    expect(s.series).toBe('sample:phantom:10 (seed 1), slices 20-29');
    expect(s.slices).toBe(10);
    expect(s.firstMm).toBeCloseTo(truthMm, 6);
    expect(s.location?.sameFrame).toBe(true);
    const text = await runTomosort(['localize', '--model', ordering, '--series', 'sample:phantom:10#slices=20-29', '--reference', 'sample:phantom:10', '--seed', '1']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`the series' own geometry says ${truthMm.toFixed(1)} mm (same frame of reference)`);
  }, 60_000);

  it('content reversed against its geometry: reversed', async () => {
    const s = await check(seriesFolder('reversed', rearranged(subject.volume, [...Array(n).keys()].reverse())));
    expect(s.order).toEqual([{ kind: 'reversed', rho: s.rho }]);
  }, 60_000);

  it('content fully shuffled: shuffled as a whole series with the manifest ρ; not judged without one', async () => {
    const rng = mulberry32(7);
    const order = [...Array(n).keys()];
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const dir = seriesFolder('shuffled', rearranged(subject.volume, order));
    const s = await check(dir);
    expect(s.order).toEqual([{ kind: 'shuffled', extent: 'series', rho: s.rho, expectedRho: s.expectedRho }]);
    const text = await runTomosort(['localize', '--model', ordering, '--series', dir]);
    expect(text.stdout).toContain(`slice order: SHUFFLED: ρ = ${s.rho.toFixed(2)}, far below the ${s.expectedRho!.toFixed(2)} this model gives intact volumes`);
    // --expected-rho overrides the manifest: a model said not to order intact volumes cannot judge.
    const weak = await check(dir, '--expected-rho', '0.3');
    expect(weak.order).toEqual([{ kind: 'inconclusive', rho: weak.rho, expectedRho: 0.3, reason: 'unreliable-model' }]);
  }, 90_000);
});
