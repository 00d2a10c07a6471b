import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PLANE_FRAMES, voxelCoord, voxelToPatient } from '@tomosort/volume';
import { SampleOptionError } from '../errors';
import type { PhantomOrganName } from './anatomy';
import { PHANTOM_ORGANS, PHANTOM_ORGAN_ID } from './anatomy';
import type { PhantomSubject } from './phantom';
import { phantomCohort, phantomSubject } from './phantom';

const sha256 = (s: PhantomSubject): string =>
  createHash('sha256')
    .update(new Uint8Array(s.volume.data.buffer))
    .update(s.labels.data)
    .digest('hex');

/** 16 subjects at 64² (fast); the anatomy does not depend on the matrix size. */
const cohort = phantomCohort({ subjects: 16, seed: 0, size: 64 });

/** Per organ id: voxel count, mean patient z and mean HU. */
function organStats(s: PhantomSubject): Map<number, { count: number; z: number; hu: number }> {
  const [nx, ny, nz] = s.volume.dims;
  const acc = new Map<number, { count: number; z: number; hu: number }>();
  for (let k = 0; k < nz; k++) {
    const z = voxelToPatient(s.volume, voxelCoord(0, 0, k))[2];
    for (let n = k * nx * ny; n < (k + 1) * nx * ny; n++) {
      const id = s.labels.data[n]!;
      const a = acc.get(id) ?? { count: 0, z: 0, hu: 0 };
      a.count++;
      a.z += z;
      a.hu += s.volume.data[n]!;
      acc.set(id, a);
    }
  }
  for (const a of acc.values()) {
    a.z /= a.count;
    a.hu /= a.count;
  }
  return acc;
}
const stats = cohort.map(organStats);
const present = (n: number, organ: PhantomOrganName, min = 50): boolean =>
  (stats[n]?.get(PHANTOM_ORGAN_ID[organ])?.count ?? 0) >= min;

describe('phantomSubject determinism', () => {
  it('(index 3, seed 7, 128²) twice → bit-identical volume and labels (sha256)', () => {
    expect(sha256(phantomSubject(3, 7))).toBe(sha256(phantomSubject(3, 7)));
  });

  it('phantomCohort({ subjects: 4, seed: 7, size: 64 })[3] = phantomSubject(3, 7, { size: 64 })', () => {
    const fromCohort = phantomCohort({ subjects: 4, seed: 7, size: 64 })[3];
    if (fromCohort === undefined) throw new Error('cohort too short');
    expect(sha256(fromCohort)).toBe(sha256(phantomSubject(3, 7, { size: 64 })));
    expect(fromCohort.id).toBe('phantom-003');
  });

  it('another seed or index → different voxels', () => {
    const h = sha256(phantomSubject(3, 7, { size: 64 }));
    expect(sha256(phantomSubject(3, 8, { size: 64 }))).not.toBe(h);
    expect(sha256(phantomSubject(4, 7, { size: 64 }))).not.toBe(h);
  });
});

describe('phantomSubject geometry', () => {
  it.each([0, 1, 2])('subject %i at 128²: dims [128, 128, 60..120], axial, FOV 380..450 mm, slices 2..5 mm', (index) => {
    const s = phantomSubject(index, 0);
    const [nx, ny, nz] = s.volume.dims;
    expect([nx, ny]).toEqual([128, 128]);
    expect(nz).toBeGreaterThanOrEqual(60);
    expect(nz).toBeLessThanOrEqual(120);
    expect(s.volume.data).toBeInstanceOf(Int16Array);
    expect(s.volume.modality).toBe('CT');
    expect(s.volume.direction).toEqual(PLANE_FRAMES.axial);
    const [px, py, pz] = s.volume.spacing;
    expect(px).toBe(py);
    expect(px * 128).toBeGreaterThanOrEqual(380);
    expect(px * 128).toBeLessThanOrEqual(450);
    expect(pz).toBeGreaterThanOrEqual(2);
    expect(pz).toBeLessThanOrEqual(5);
    const { data: _labels, modality, ...labelGeometry } = s.labels;
    const { data: _ct, modality: _m, ...ctGeometry } = s.volume;
    expect(labelGeometry).toEqual(ctGeometry);
    expect(modality).toBe('SEG');
    expect(s.organs).toBe(PHANTOM_ORGANS);
  });

  it.each([0, 5, 9])('subject %i: slice k is at patient z = −(zRangeMm[1] − k·Δ), field centred on x = y = 0', (index) => {
    const s = cohort[index]!;
    const [n, m, nz] = s.volume.dims;
    const [top, bottom] = s.zRangeMm;
    expect(bottom - top).toBeCloseTo((nz - 1) * s.volume.spacing[2], 9);
    const first = voxelToPatient(s.volume, voxelCoord((n - 1) / 2, (m - 1) / 2, 0));
    expect(first[0]).toBeCloseTo(0, 9);
    expect(first[1]).toBeCloseTo(0, 9);
    expect(first[2]).toBeCloseTo(-bottom, 9);
    expect(voxelToPatient(s.volume, voxelCoord(0, 0, nz - 1))[2]).toBeCloseTo(-top, 9);
  });
});

describe('phantom cohort anatomy', () => {
  it('centroid z: brain > lungs > liver > bladder in every subject that holds them', () => {
    const order: PhantomOrganName[] = ['brain', 'lungs', 'liver', 'bladder'];
    let pairs = 0;
    cohort.forEach((_, n) => {
      const zs = order.filter((o) => present(n, o)).map((o) => stats[n]!.get(PHANTOM_ORGAN_ID[o])!.z);
      for (let a = 1; a < zs.length; a++) {
        expect(zs[a - 1]).toBeGreaterThan(zs[a]!);
        pairs++;
      }
    });
    expect(pairs).toBeGreaterThanOrEqual(4);
  });

  it('every organ appears in some subject; no subject holds them all', () => {
    for (const organ of PHANTOM_ORGANS) {
      expect(cohort.some((_, n) => present(n, organ.name)), organ.name).toBe(true);
    }
    expect(cohort.every((_, n) => !(present(n, 'brain') && present(n, 'bladder')))).toBe(true);
  });

  it('mean HU by label: air ≈ −1000, lungs < −600, liver 40..80, brain 15..55, skull > 500', () => {
    cohort.forEach((_, n) => {
      const s = stats[n]!;
      expect(s.get(0)?.hu).toBeLessThan(-990);
      const hu = (o: PhantomOrganName): number | undefined => (present(n, o) ? s.get(PHANTOM_ORGAN_ID[o])!.hu : undefined);
      const lungs = hu('lungs');
      if (lungs !== undefined) expect(lungs).toBeLessThan(-600);
      const liver = hu('liver');
      if (liver !== undefined) {
        expect(liver).toBeGreaterThan(40);
        expect(liver).toBeLessThan(80);
      }
      const brain = hu('brain');
      if (brain !== undefined) {
        expect(brain).toBeGreaterThan(15);
        expect(brain).toBeLessThan(55);
      }
      const skull = hu('skull');
      if (skull !== undefined) expect(skull).toBeGreaterThan(500);
    });
  });

  it('subjects vary: slice spacing, slice count, build and scanned range', () => {
    const distinct = (f: (s: PhantomSubject) => number): number => new Set(cohort.map(f)).size;
    expect(distinct((s) => s.volume.spacing[2])).toBeGreaterThan(4);
    expect(distinct((s) => s.volume.dims[2])).toBeGreaterThan(8);
    expect(distinct((s) => s.volume.spacing[0])).toBe(16);
    expect(distinct((s) => s.params.girth)).toBe(16);
    const [a, b] = cohort;
    expect(a!.volume.spacing[2] !== b!.volume.spacing[2] || a!.volume.dims[2] !== b!.volume.dims[2]).toBe(true);
    const tops = cohort.map((s) => s.zRangeMm[0]);
    expect(Math.max(...tops) - Math.min(...tops)).toBeGreaterThan(300);
  });

  it('noise: HU spread inside the liver label ≈ params.noiseSd (10..20 HU)', () => {
    const n = cohort.findIndex((_, m) => present(m, 'liver', 2000));
    const s = cohort[n]!;
    const id = PHANTOM_ORGAN_ID.liver;
    const values = Array.from(s.volume.data).filter((_, v) => s.labels.data[v] === id);
    const mean = values.reduce((x, y) => x + y, 0) / values.length;
    const sd = Math.sqrt(values.reduce((x, y) => x + (y - mean) ** 2, 0) / values.length);
    expect(sd).toBeGreaterThan(s.params.noiseSd * 0.9);
    expect(sd).toBeLessThan(s.params.noiseSd * 1.1);
  });
});

describe('phantom options', () => {
  it.each([
    [() => phantomCohort({ subjects: 0 }), 'phantom subjects must be a positive integer, got 0'],
    [() => phantomCohort({ subjects: 2, size: 8 }), 'phantom size must be an integer in 16..1024, got 8'],
    [() => phantomSubject(-1), 'phantom index must be an integer ≥ 0, got -1'],
  ])('bad option %# → SampleOptionError', (f, message) => {
    expect(f).toThrow(SampleOptionError);
    expect(f).toThrow(message);
  });
});
