import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@tomosort/random';
import { createVolume } from '@tomosort/volume';
import { MAPPED_SORTING_AUGMENTATION, NO_AUGMENTATION, SORTING_AUGMENTATION, augmentSlice, sortingAugmentationFor } from './augment';
import { extentMm, prepareVolume, sliceAtMm } from './prepare';
import { sortingBatch } from './sorting';
import { viewBatch } from './views';

/** An axial [8, 8, nz] volume whose slice k holds the value 10·k HU everywhere, at 2 mm, origin z = 100. */
function zRamp(nz = 11) {
  const data = new Int16Array(8 * 8 * nz);
  for (let k = 0; k < nz; k++) data.fill(10 * k, 64 * k, 64 * (k + 1));
  return createVolume({ data, dims: [8, 8, nz], spacing: [1, 1, 2], origin: [0, 0, 100], modality: 'CT' });
}
const window = { center: 100, width: 200 }; // 0 HU → 0, 200 HU → 1: value = 10·k / 200

describe('prepareVolume / sliceAtMm', () => {
  const p = prepareVolume('ramp', zRamp(), { plane: 'axial', size: 4 });
  it('[8,8,11] at 2 mm → 11 slices of 4×4, first at z = 100 mm, extent 20 mm', () => {
    expect([p.slices, p.size, p.spacingMm, p.firstMm, extentMm(p)]).toEqual([11, 4, 2, 100, 20]);
  });
  it('slice 3 mm past the first lies halfway between k = 1 and k = 2: 15 HU', () => {
    expect([...sliceAtMm(p, 3)]).toEqual(new Array(16).fill(15));
  });
  it('clamps beyond the ends', () => {
    expect(sliceAtMm(p, 99)[0]).toBe(100);
    expect(sliceAtMm(p, -5)[0]).toBe(0);
  });
  it('rejects a single-slice volume, naming it', () => {
    expect(() => prepareVolume('flat', zRamp(1), { plane: 'axial', size: 4 })).toThrow(/^flat: needs at least 2 slices/);
  });
});

describe('sortingBatch B=3 K=4', () => {
  const vols = [prepareVolume('a', zRamp(), { plane: 'axial', size: 4 }), prepareVolume('b', zRamp(21), { plane: 'axial', size: 4 })];
  const cfg = { volumesPerBatch: 3, slicesPerVolume: 4, gapMm: [2, 4] as const, window, augmentation: NO_AUGMENTATION };

  it('gives images [12,4,4,1] whose content encodes exactly the returned positions', () => {
    const batch = sortingBatch(vols, cfg, mulberry32(1));
    expect(batch.shape).toEqual([12, 4, 4, 1]);
    expect(batch.positionsMm).toHaveLength(12);
    for (let row = 0; row < 12; row++) {
      // value = 10·k/200 with k = (z − 100) / 2  ⇒  z = 100 + 40·value
      const z = 100 + 40 * batch.images[row * 16]!;
      expect(z).toBeCloseTo(batch.positionsMm[row]!, 3);
    }
  });

  it('rows hold slices of one volume spaced by one gap within [2, 4] mm (or shrunk to fit)', () => {
    const batch = sortingBatch(vols, cfg, mulberry32(2));
    for (let b = 0; b < 3; b++) {
      const z = [...batch.positionsMm.subarray(b * 4, b * 4 + 4)].sort((x, y) => x - y);
      const gaps = z.slice(1).map((x, i) => x - z[i]!);
      for (const g of gaps) expect(g).toBeCloseTo(gaps[0]!, 4);
      expect(gaps[0]!).toBeGreaterThanOrEqual(2 - 1e-4);
      expect(gaps[0]!).toBeLessThanOrEqual(4 + 1e-4);
    }
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const aug = { ...cfg, augmentation: SORTING_AUGMENTATION };
    const a = sortingBatch(vols, aug, mulberry32(5));
    const b = sortingBatch(vols, aug, mulberry32(5));
    const c = sortingBatch(vols, aug, mulberry32(6));
    expect(a.images).toEqual(b.images);
    expect(a.positionsMm).toEqual(b.positionsMm);
    expect(a.images).not.toEqual(c.images);
  });

  it('rejects K = 1 and an empty gap range', () => {
    expect(() => sortingBatch(vols, { ...cfg, slicesPerVolume: 1 }, mulberry32(0))).toThrow(/slicesPerVolume must be an integer ≥ 2, got 1/);
    expect(() => sortingBatch(vols, { ...cfg, gapMm: [3, 1] }, mulberry32(0))).toThrow(/gapMm must be a range/);
  });
});

describe('sortingAugmentationFor', () => {
  it('keeps the CT augmentation for HU volumes and widens the intensity one when any volume was percentile-mapped', () => {
    const ct = prepareVolume('ct', zRamp(), { plane: 'axial', size: 4 });
    const mr = prepareVolume('mr', createVolume({ data: new Int16Array(8 * 8 * 4).map((_, i) => i), dims: [8, 8, 4], spacing: [1, 1, 2], modality: 'MR' }), { plane: 'axial', size: 4 });
    expect([ct.modality, mr.modality]).toEqual(['CT', 'MR']);
    expect(sortingAugmentationFor([ct])).toBe(SORTING_AUGMENTATION);
    expect(sortingAugmentationFor([ct, mr])).toBe(MAPPED_SORTING_AUGMENTATION);
    expect(MAPPED_SORTING_AUGMENTATION.huScale).toBeGreaterThan(SORTING_AUGMENTATION.huScale);
    expect({ ...MAPPED_SORTING_AUGMENTATION, huScale: 0, huShift: 0 }).toEqual({ ...SORTING_AUGMENTATION, huScale: 0, huShift: 0 });
  });
});

describe('augmentSlice', () => {
  const src = Float32Array.from({ length: 16 }, (_, n) => n * 10); // 4×4, HU 0..150
  it('with no augmentation is just the window', () => {
    const out = augmentSlice(src, 4, { center: 75, width: 150 }, NO_AUGMENTATION, mulberry32(0));
    expect([...out].map((x) => +x.toFixed(5))).toEqual([...src].map((x) => +(x / 150).toFixed(5)));
  });
  it('flip only gives one of the four mirror images', () => {
    const img = (f: (x: number, y: number) => number) => Array.from({ length: 16 }, (_, n) => f(n % 4, Math.floor(n / 4)));
    const at = (x: number, y: number) => src[y * 4 + x]! / 150;
    const mirrors = [img(at), img((x, y) => at(3 - x, y)), img((x, y) => at(x, 3 - y)), img((x, y) => at(3 - x, 3 - y))].map((m) => m.map((v) => +v.toFixed(5)).join());
    for (let seed = 0; seed < 8; seed++) {
      const out = augmentSlice(src, 4, { center: 75, width: 150 }, { ...NO_AUGMENTATION, flip: true }, mulberry32(seed));
      expect(mirrors).toContain([...out].map((v) => +v.toFixed(5)).join());
    }
  });
});

describe('viewBatch', () => {
  it('N=5 gives two [5,4,4,1] views that differ (independent augmentations)', () => {
    const vols = [prepareVolume('a', zRamp(), { plane: 'axial', size: 4 })];
    const b = viewBatch(vols, { slices: 5, window, augmentation: SORTING_AUGMENTATION }, mulberry32(3));
    expect(b.shape).toEqual([5, 4, 4, 1]);
    expect(b.view1).toHaveLength(80);
    expect(b.view1).not.toEqual(b.view2);
  });
});
