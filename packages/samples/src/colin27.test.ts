import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '@tomosort/dicom';
import { patientMm, patientToVoxel, resampleNearest, voxelCoord, voxelToPatient } from '@tomosort/volume';
import type { Grid, Volume } from '@tomosort/volume';
import { COLIN27_CLASSES, MRICRON_TEMPLATES, aalClassTable, colin27ClassOfAal, loadColin27 } from './colin27';
import type { Colin27Sample } from './colin27';
import { SampleError, SampleUnavailableError } from './errors';

const installed = ['ch2.nii.gz', 'ch2better.nii.gz', 'ch2bet.nii.gz', 'aal.nii.gz', 'aal.nii.txt'].every((f) => existsSync(join(MRICRON_TEMPLATES, f)));

/** LPS axes of the NIfTI files' RAS grids: i → patient right, j → anterior, k → superior. */
const RAS_AS_LPS = [
  [-1, 0, 0],
  [0, -1, 0],
  [0, 0, 1],
];

/**
 * Voxels of each class in the 1 mm ch2 label map (1 voxel = 1 mm³), counted in aal.nii.gz of
 * Debian mricron-data 1.2.20211006+dfsg-4 merged by the table in packages/samples/README.md:
 * 615.8, 615.7, 194.8 and 53.6 ml. AAL's regions are grey-matter parcels dilated into the
 * adjoining white matter, on a brain the size of the MNI template (larger than an average adult
 * brain), hence the wide sanity ranges below.
 */
const CH2_CLASS_VOXELS = [615_784, 615_707, 194_831, 53_647] as const;
const PLAUSIBLE_ML: readonly (readonly [number, number])[] = [
  [400, 800], // left cerebrum
  [400, 800], // right cerebrum
  [100, 250], // cerebellum
  [20, 80], // deep grey nuclei
];

const classVoxels = (labels: Uint8Array): number[] => {
  const n = [0, 0, 0, 0, 0];
  for (const l of labels) n[l]!++;
  return n.slice(1);
};

/** Pearson correlation of two images' values where `mask` is non-zero. */
function correlation(a: ArrayLike<number>, b: ArrayLike<number>, mask: ArrayLike<number>): number {
  let n = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (let q = 0; q < a.length; q++) {
    if (!mask[q]) continue;
    const x = a[q]!, y = b[q]!;
    n++; sa += x; sb += y; saa += x * x; sbb += y * y; sab += x * y;
  }
  return (sab - (sa * sb) / n) / Math.sqrt((saa - (sa * sa) / n) * (sbb - (sb * sb) / n));
}

describe('aalClassTable (the AAL → class merge)', () => {
  it.each([
    ['Precentral_L', 1],
    ['Hippocampus_R', 2],
    ['Temporal_Inf_L', 1],
    ['Caudate_L', 4],
    ['Thalamus_R', 4],
    ['Cerebelum_Crus1_L', 3],
    ['Cerebelum_10_R', 3],
    ['Vermis_1_2', 3],
    ['Vermis_10', 3],
  ] as const)('%s → class %i', (name, cls) => {
    expect(colin27ClassOfAal(name)).toBe(cls);
  });

  it('refuses a region no rule covers, naming the file, line and region', () => {
    expect(() => aalClassTable('1 Precentral_L 2001\n2 Brainstem 9999\n', 'x.txt')).toThrow(new SampleError('x.txt: line 2: no class for AAL region 2 Brainstem'));
  });

  it.skipIf(!installed)('on the installed aal.nii.txt equals the README table: 1–70, 79–90 odd → 1, even → 2; 71–78 → 4; 91–116 → 3', () => {
    const table = aalClassTable(readFileSync(join(MRICRON_TEMPLATES, 'aal.nii.txt'), 'utf8'));
    const expected = new Uint8Array(256);
    for (let r = 1; r <= 116; r++) expected[r] = r >= 91 ? 3 : r >= 71 && r <= 78 ? 4 : r % 2 === 1 ? 1 : 2;
    expect([...table]).toEqual([...expected]);
  });
});

describe.skipIf(!installed)('loadColin27 (Debian mricron-data)', () => {
  let ch2: Colin27Sample;
  let better: Colin27Sample;
  beforeAll(async () => {
    [ch2, better] = await Promise.all([loadColin27(), loadColin27({ image: 'ch2better' })]);
  }, 60_000);

  it('ch2: MR [181, 217, 181] at 1 mm, i → right, j → anterior, k → superior; labels on the same grid', () => {
    expect(ch2.id).toBe('sample:colin27');
    expect(ch2.volume.modality).toBe('MR');
    expect(ch2.volume.data).toBeInstanceOf(Uint8Array);
    expect(ch2.volume.dims).toEqual([181, 217, 181]);
    expect(ch2.volume.spacing).toEqual([1, 1, 1]);
    expect(ch2.volume.direction).toEqual(RAS_AS_LPS);
    // sform (1, 1, 1; −90, −125, −71) in RAS → LPS origin (90, 125, −71).
    expect(ch2.volume.origin).toEqual([90, 125, -71]);
    const grid = (v: Volume): Grid => ({ dims: v.dims, spacing: v.spacing, origin: v.origin, direction: v.direction });
    expect(grid(ch2.labels)).toEqual(grid(ch2.volume));
    expect(ch2.labels.modality).toBe('SEG');
    expect(ch2.classes).toBe(COLIN27_CLASSES);
  });

  it('class volumes (ml) are the counts of the merged atlas, large and unequal, each in a plausible range', () => {
    const n = classVoxels(ch2.labels.data);
    expect(n).toEqual([...CH2_CLASS_VOXELS]);
    n.forEach((v, c) => {
      const ml = v / 1000;
      expect(ml).toBeGreaterThanOrEqual(PLAUSIBLE_ML[c]![0]);
      expect(ml).toBeLessThanOrEqual(PLAUSIBLE_ML[c]![1]);
    });
  });

  it('the labels cover the brain: labelled voxels have brain T1 intensities and lie in ch2bet’s brain mask', () => {
    // ch2's T1 (uint8): brain tissue 32..143 (grey ≈ 64–95, white ≈ 96–127); CSF below, scalp fat above.
    let labelled = 0, brainIntensity = 0, inBet = 0, bet = 0, betLabelled = 0;
    const ch2bet = readNifti(new Uint8Array(readFileSync(join(MRICRON_TEMPLATES, 'ch2bet.nii.gz'))), 'ch2bet.nii.gz');
    expect(ch2bet.dims).toEqual(ch2.volume.dims);
    expect(ch2bet.origin).toEqual(ch2.volume.origin);
    for (let q = 0; q < ch2.labels.data.length; q++) {
      const inBrain = ch2bet.data[q]! > 0;
      if (inBrain) bet++;
      if (!ch2.labels.data[q]) continue;
      labelled++;
      const t1 = ch2.volume.data[q]!;
      if (t1 >= 32 && t1 <= 143) brainIntensity++;
      if (inBrain) {
        inBet++;
        betLabelled++;
      }
    }
    // Measured: 98.9 % in range, 90.5 % inside ch2bet (AAL is dilated past the brain's edge), 77 % of ch2bet labelled (white matter is not).
    expect(brainIntensity / labelled).toBeGreaterThanOrEqual(0.98);
    expect(inBet / labelled).toBeGreaterThanOrEqual(0.88);
    expect(betLabelled / bet).toBeGreaterThanOrEqual(0.75);
  });

  it('left cerebrum lies at patient left (LPS +x), right cerebrum at −x, cerebellum and deep grey across the midline', () => {
    const [nx, ny] = ch2.labels.dims;
    const sum = [0, 0, 0, 0, 0];
    const n = [0, 0, 0, 0, 0];
    const wrongSide = [0, 0, 0];
    for (let q = 0; q < ch2.labels.data.length; q++) {
      const l = ch2.labels.data[q]!;
      if (!l) continue;
      const i = q % nx;
      const p = voxelToPatient(ch2.labels, voxelCoord(i, Math.floor(q / nx) % ny, Math.floor(q / (nx * ny))));
      sum[l]! += p[0];
      n[l]!++;
      if ((l === 1 && p[0] < -2) || (l === 2 && p[0] > 2)) wrongSide[l]!++;
    }
    const meanX = sum.map((s, l) => s / n[l]!);
    expect(meanX[1]).toBeGreaterThan(20);
    expect(meanX[2]).toBeLessThan(-20);
    expect(Math.abs(meanX[3]!)).toBeLessThan(3);
    expect(Math.abs(meanX[4]!)).toBeLessThan(3);
    // Measured: 1,167 left-cerebrum voxels (0.19 %) and no right-cerebrum voxel lie more than 2 mm past the midline.
    expect(wrongSide[1]! / n[1]!).toBeLessThan(0.005);
    expect(wrongSide[2]! / n[2]!).toBeLessThan(0.005);
  });

  it('ch2better: MR [301, 370, 316] at 0.5 mm in the same frame; 8 half-mm voxels for every labelled mm³', () => {
    expect(better.id).toBe('sample:colin27:better');
    expect(better.volume.dims).toEqual([301, 370, 316]);
    expect(better.volume.spacing).toEqual([0.5, 0.5, 0.5]);
    expect(better.volume.direction).toEqual(RAS_AS_LPS);
    expect(better.volume.origin).toEqual([75, 107, -69.5]);
    expect(better.labels.dims).toEqual(better.volume.dims);
    expect(better.labels.origin).toEqual(better.volume.origin);
    // The whole atlas lies inside ch2better's smaller field of view.
    expect(classVoxels(better.labels.data)).toEqual(CH2_CLASS_VOXELS.map((v) => 8 * v));
  });

  it('ch2 and ch2better labels agree at every mm position both grids sample', () => {
    const [nx, ny, nz] = better.labels.dims;
    // Axes are parallel, so ch2's voxel index along each axis depends on that axis' index alone.
    const along = (axis: 0 | 1 | 2, n: number): number[] =>
      Array.from({ length: n }, (_, t) => patientToVoxel(ch2.labels, voxelToPatient(better.labels, voxelCoord(axis === 0 ? t : 0, axis === 1 ? t : 0, axis === 2 ? t : 0)))[axis]);
    const [u, v, w] = [along(0, nx), along(1, ny), along(2, nz)];
    let compared = 0;
    let agree = 0;
    // ch2better voxel centres at whole millimetres (ch2's centres): i and j even, k odd (origin z = −69.5).
    for (let k = 1; k < nz; k += 2) {
      for (let j = 0; j < ny; j += 2) {
        for (let i = 0; i < nx; i += 2) {
          if (!Number.isInteger(u[i]) || !Number.isInteger(v[j]) || !Number.isInteger(w[k])) continue;
          compared++;
          if (ch2.labels.data[u[i]! + 181 * (v[j]! + 217 * w[k]!)] === better.labels.data[i + nx * (j + ny * k)]) agree++;
        }
      }
    }
    expect(compared).toBe(151 * 185 * 158);
    expect(agree).toBe(compared);
  });

  it('ch2better shows ch2’s anatomy at the same mm positions: r ≥ 0.9 inside its brain, lower by > 0.05 shifted 2 mm in x or y, 1 mm in z', () => {
    // A 1 mm grid over ch2better's field of view; ch2better is skull-stripped (0 outside the brain).
    // Measured (nearest neighbour): r = 0.958 unshifted; 0.69–0.84 shifted 2 mm in x or y; 0.88 and
    // 0.89 shifted ±1 mm in z. Shifted −1 mm in x or +1 mm in y, r is the same as unshifted (0.959,
    // 0.958), not asserted: with trilinear sampling, ch2 shifted by (−0.5, +0.5, 0) mm matches
    // ch2better at r = 0.9998 — it is ch2 upsampled, its header half a millimetre off in x and y
    // and exact in z (the slice axis).
    // Its origin is ch2better's voxel (0, 0, 1), a voxel centre of both images: no nearest-neighbour ties.
    const g: Grid = { dims: [150, 184, 157], spacing: [1, 1, 1], origin: patientMm(75, 107, -69), direction: better.volume.direction };
    expect(voxelToPatient(better.volume, voxelCoord(0, 0, 1))).toEqual(g.origin);
    const b = resampleNearest(better.volume, g).data;
    const r = (dx: number, dy: number, dz: number) =>
      correlation(resampleNearest(ch2.volume, { ...g, origin: patientMm(g.origin[0] + dx, g.origin[1] + dy, g.origin[2] + dz) }).data, b, b);
    const aligned = r(0, 0, 0);
    expect(aligned).toBeGreaterThanOrEqual(0.9);
    const shifts: readonly (readonly [number, number, number])[] = [[2, 0, 0], [-2, 0, 0], [0, 2, 0], [0, -2, 0], [0, 0, 1], [0, 0, -1]];
    for (const [dx, dy, dz] of shifts) {
      expect(r(dx, dy, dz), `shifted by [${dx}, ${dy}, ${dz}] mm`).toBeLessThan(aligned - 0.05);
    }
  }, 30_000);
});

describe('loadColin27 without mricron-data', () => {
  it('→ SampleUnavailableError naming the missing file and the Debian package', async () => {
    const error = await loadColin27({ dir: '/nonexistent/templates' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SampleUnavailableError);
    expect(error).toBeInstanceOf(SampleError);
    expect((error as SampleUnavailableError).sample).toBe('sample:colin27');
    expect((error as SampleUnavailableError).path).toBe('/nonexistent/templates/ch2.nii.gz');
    expect((error as Error).message).toBe(
      'sample:colin27: /nonexistent/templates/ch2.nii.gz is missing; install it with `apt-get install mricron-data` (or run ./scripts/setup.sh)',
    );
  });

  it('names sample:colin27:better for the 0.5 mm image', async () => {
    const error = await loadColin27({ image: 'ch2better', dir: '/nonexistent/templates' }).catch((e: unknown) => e);
    expect((error as SampleUnavailableError).sample).toBe('sample:colin27:better');
    expect((error as SampleUnavailableError).path).toBe('/nonexistent/templates/ch2better.nii.gz');
  });
});
