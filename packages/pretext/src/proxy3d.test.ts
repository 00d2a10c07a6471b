import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@tomosort/random';
import { CUBE_ROTATIONS, affineCube, cropCube, gridCell, rotateCube } from './cube';
import type { Cube } from './cube';
import { PretextError } from './errors';
import type { PreparedVolume } from './prepare';
import { EXEMPLAR_AUGMENTATION, RPL_CENTRE, cpcBatch, cpcPairs, exemplarBatch, jigsawBatch, jigsawPermutations, rotationBatch, rplBatch, rplCell } from './proxy3d';
import type { CubeAugmentation } from './proxy3d';
import { csprBatch, labelledPhantomSlices } from './cspr';
import { PHANTOM_ORGANS, phantomSubject } from '@tomosort/samples';

/** A hand-made prepared volume: `slices` slices of size², voxel value f(k, y, x), 1 mm/pixel, `spacingMm` between slices. */
function handVolume(id: string, size: number, slices: number, f: (k: number, y: number, x: number) => number, spacingMm = 1): PreparedVolume {
  const data = new Float32Array(slices * size * size);
  for (let k = 0; k < slices; k++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data[(k * size + y) * size + x] = f(k, y, x);
  return { id, size, slices, data, spacingMm, firstMm: 0, plane: 'axial', mmPerPixel: 1, modality: 'CT' };
}

/** Window 0…1000 HU: value v maps to v / 1000. */
const wide = { center: 500, width: 1000 };
const cubeOf = (side: number, f: (d: number, h: number, w: number) => number): Cube => {
  const data = new Float32Array(side ** 3);
  for (let d = 0; d < side; d++) for (let h = 0; h < side; h++) for (let w = 0; w < side; w++) data[(d * side + h) * side + w] = f(d, h, w);
  return { side, data };
};
const sampleOf = (images: Float32Array, i: number, side: number) => images.subarray(i * side ** 3, (i + 1) * side ** 3);

describe('cubes', () => {
  it('a quarter turn about d acts on (h, w) as out(h, w) = in(1 − w, h): by hand on a 2³ cube', () => {
    const c = cubeOf(2, (d, h, w) => 4 * d + 2 * h + w);
    expect([...rotateCube(c, 1).data]).toEqual([2, 0, 3, 1, 6, 4, 7, 5]);
    // about h (axis 1) the turn acts on (d, w): out(d, w) = in(1 − w, d)
    expect([...rotateCube(c, 4).data]).toEqual([4, 0, 6, 2, 5, 1, 7, 3]);
  });

  it('the 10 rotations of an asymmetric cube are distinct, and four quarter turns are the identity', () => {
    const c = cubeOf(3, (d, h, w) => 9 * d + 3 * h + w);
    const all = Array.from({ length: CUBE_ROTATIONS }, (_, r) => rotateCube(c, r).data.join());
    expect(new Set(all).size).toBe(CUBE_ROTATIONS);
    for (const axis of [0, 1, 2]) {
      let x = c;
      for (let t = 0; t < 4; t++) x = rotateCube(x, 1 + 3 * axis);
      expect([...x.data]).toEqual([...c.data]);
      // two quarter turns are the half turn, three the 270° label
      expect(rotateCube(rotateCube(c, 1 + 3 * axis), 1 + 3 * axis).data.join()).toBe(rotateCube(c, 2 + 3 * axis).data.join());
      expect(rotateCube(rotateCube(c, 2 + 3 * axis), 1 + 3 * axis).data.join()).toBe(rotateCube(c, 3 + 3 * axis).data.join());
    }
    expect(() => rotateCube(c, 10)).toThrow(PretextError);
  });

  it('affineCube at 90° and zoom 1 is the quarter turn about the same axis; zoom 2 magnifies about the centre', () => {
    const c = cubeOf(5, (d, h, w) => 25 * d + 5 * h + w);
    for (const axis of [0, 1, 2] as const) {
      const a = affineCube(c, axis, Math.PI / 2, 1).data;
      const q = rotateCube(c, 1 + 3 * axis).data;
      expect(Math.max(...a.map((v, i) => Math.abs(v - q[i]!)))).toBeLessThan(1e-3);
    }
    // zoom 2: voxel (0, 0, 0) reads the point halfway to the centre, (1, 1, 1): 25 + 5 + 1
    expect(affineCube(c, 0, 0, 2).data[0]).toBeCloseTo(31, 4);
  });

  it('a crop samples depth every mm/pixel: a volume at 2 mm between slices gives isotropic 1 mm voxels, linearly between slices', () => {
    const v = handVolume('ramp', 4, 6, (k) => 10 * k, 2); // value = 5 × position in mm
    const c = cropCube(v, 4, mulberry32(1));
    const planes = Array.from({ length: 4 }, (_, d) => c.data[d * 16]!);
    // consecutive planes 1 mm apart differ by 5 HU wherever the crop starts
    expect(planes.slice(1).map((p, i) => +(p - planes[i]!).toFixed(4))).toEqual([5, 5, 5]);
    expect(() => cropCube(v, 5, mulberry32(1))).toThrow(/ramp: a 5³ cube does not fit its 4² slices/);
  });
});

describe('3D proxy-task batches on hand-made volumes', () => {
  it('rotation: image n is the whole cube rotated by its label; the labels cover all 10 classes', () => {
    // The volume is exactly one 4³ cube, so every crop is the whole volume.
    const v = handVolume('v', 4, 4, (k, y, x) => 100 * k + 10 * y + x);
    const whole = cubeOf(4, (d, h, w) => (100 * d + 10 * h + w) / 1000);
    const b = rotationBatch([v], { samples: 60, side: 4, window: wide }, mulberry32(7));
    expect(b.shape).toEqual([60, 4, 4, 4, 1]);
    expect(b.perSample).toBe(1);
    for (let n = 0; n < 60; n++) {
      const expected = rotateCube(whole, b.labels[n]!).data;
      expect(Math.max(...sampleOf(b.images, n, 4).map((x, i) => Math.abs(x - expected[i]!)))).toBeLessThan(1e-6);
    }
    expect(new Set(b.labels).size).toBe(CUBE_ROTATIONS);
  });

  // A 3 × 3 × 3 grid of cells of side 3 (patch 2 + jitter 1): every voxel holds its cell's index.
  const cells = (grid: number, cell: number) => handVolume('cells', grid * cell, grid * cell, (k, y, x) => Math.floor(k / cell) * grid * grid + Math.floor(y / cell) * grid + Math.floor(x / cell));
  const cellOf = (images: Float32Array, i: number, side: number) => {
    const s = sampleOf(images, i, side);
    expect(Math.max(...s) - Math.min(...s)).toBeLessThan(1e-6); // a patch never leaves its cell
    return Math.round(s[0]! * 1000);
  };

  it('RPL: sample n is [centre patch, neighbour], and the label is the neighbour’s index', () => {
    const b = rplBatch([cells(3, 3)], { samples: 80, grid: { grid: 3, patch: 2, jitter: 1 }, window: wide }, mulberry32(3));
    expect(b.shape).toEqual([160, 2, 2, 2, 1]);
    for (let n = 0; n < 80; n++) {
      expect(cellOf(b.images, 2 * n, 2)).toBe(RPL_CENTRE);
      expect(cellOf(b.images, 2 * n + 1, 2)).toBe(rplCell(b.labels[n]!));
    }
    expect(new Set(b.labels).size).toBeGreaterThan(20);
    expect(Math.max(...b.labels)).toBeLessThan(26);
  });

  it('jigsaw: slot j of sample n holds cell permutations[label][j]', () => {
    const permutations = jigsawPermutations(100);
    const b = jigsawBatch([cells(3, 3)], { samples: 10, grid: { grid: 3, patch: 2, jitter: 1 }, window: wide, permutations }, mulberry32(5));
    expect(b.shape).toEqual([270, 2, 2, 2, 1]);
    for (let n = 0; n < 10; n++) {
      const slots = Array.from({ length: 27 }, (_, j) => cellOf(b.images, 27 * n + j, 2));
      expect(slots).toEqual(permutations[b.labels[n]!]);
    }
  });

  it('jigsaw permutations: distinct orderings of the 27 cells, the same set every time', () => {
    const p = jigsawPermutations(100);
    expect(p).toHaveLength(100);
    expect(new Set(p.map((x) => x.join())).size).toBe(100);
    expect(p.every((x) => [...x].sort((a, b) => a - b).join() === Array.from({ length: 27 }, (_, i) => i).join())).toBe(true);
    expect(jigsawPermutations(100)).toEqual(p);
    expect(() => jigsawBatch([cells(3, 3)], { samples: 1, grid: { grid: 3, patch: 2, jitter: 1 }, window: wide, permutations: [p[0]!, [0, 1]] }, mulberry32(1))).toThrow(PretextError);
  });

  it('CPC: patches come in cell order, and each pair’s positive is the same column’s patch in the next rows', () => {
    const b = cpcBatch([cells(4, 2)], { samples: 2, grid: { grid: 4, patch: 2, jitter: 0 }, window: wide }, mulberry32(2));
    expect(b.shape).toEqual([128, 2, 2, 2, 1]);
    for (let i = 0; i < 64; i++) expect(cellOf(b.images, 64 + i, 2)).toBe(i);
    const pairs = cpcPairs(4, 2);
    expect(pairs).toHaveLength(16 * 2);
    for (const p of pairs) {
      const [d, h, w] = gridCell(p.target, 4);
      expect(d).toBe(2 + p.step);
      expect(p.context.map((c) => gridCell(c, 4))).toEqual([
        [0, h, w],
        [1, h, w],
      ]);
      expect(cellOf(b.images, p.target, 2)).toBe(p.target);
    }
    expect(() => cpcPairs(4, 4)).toThrow(PretextError);
  });

  it('exemplar: anchor and positive are views of one cube, the negative comes from another volume', () => {
    const none: CubeAugmentation = { flip: false, quarterTurns: false, rotationDeg: 0, zoom: 0, brightness: 0, contrast: [1, 1] };
    const a = handVolume('a', 6, 6, (k, y, x) => 100 + 10 * k + y + x);
    const b = handVolume('b', 6, 6, () => 900);
    const plain = exemplarBatch([a, b], { samples: 4, side: 4, window: wide, augmentation: none }, mulberry32(4));
    expect(plain.shape).toEqual([12, 4, 4, 4, 1]);
    for (let n = 0; n < 4; n++) {
      const [anchor, positive, negative] = [0, 1, 2].map((j) => sampleOf(plain.images, 3 * n + j, 4));
      expect([...positive!]).toEqual([...anchor!]);
      // one of the pair is the constant volume b (0.9), the other is not
      const isB = (x: Float32Array) => Math.abs(Math.max(...x) - 0.9) < 1e-6 && Math.abs(Math.min(...x) - 0.9) < 1e-6;
      expect(isB(anchor!) !== isB(negative!)).toBe(true);
    }
    const augmented = exemplarBatch([a, b], { samples: 4, side: 4, window: wide, augmentation: EXEMPLAR_AUGMENTATION }, mulberry32(4));
    expect(augmented.images.every((x) => x >= 0 && x <= 1)).toBe(true);
    const first = (j: number) => sampleOf(augmented.images, j, 4).join();
    expect(first(0)).not.toBe(first(1));
  });

  it('the same seed draws the same batch', () => {
    const v = handVolume('v', 8, 8, (k, y, x) => k * y + x);
    const draw = () => rotationBatch([v], { samples: 3, side: 4, window: wide }, mulberry32(11));
    expect(draw().images.join()).toBe(draw().images.join());
  });
});

describe('CSPR: labelled slices as depth-3 volumes, channel order shuffled', () => {
  it('each sample is slices k − 1, k, k + 1 of a labelled slice in one of the 6 orders, all of which occur, with the slice’s class', () => {
    const v = handVolume('v', 4, 6, (k) => 100 * k);
    const data = { volumes: [v], labels: [Int32Array.from([-1, -1, 1, 0, -1, -1])], classes: ['a', 'b'] };
    const b = csprBatch(data, { samples: 200, window: wide }, mulberry32(8));
    expect(b.shape).toEqual([200, 3, 4, 4, 1]);
    const orders = new Set<string>();
    for (let n = 0; n < 200; n++) {
      const planes = [0, 1, 2].map((d) => Math.round(b.images[(n * 3 + d) * 16]! * 10));
      const centre = b.labels[n] === 1 ? 2 : 3;
      expect([...planes].sort()).toEqual([centre - 1, centre, centre + 1]);
      orders.add(planes.map((p) => p - centre).join());
    }
    expect(orders.size).toBe(6);
  });

  it('a phantom slice’s class is the organ (not body) with the most voxels on it; end slices and organ-free slices are never drawn', () => {
    const data = labelledPhantomSlices({ subjects: 2, seed: 0, phantomSize: 32, prepare: { plane: 'axial', size: 16, mmPerPixel: 20 } });
    expect(data.classes).toEqual(expect.arrayContaining(['lungs', 'liver', 'bladder']));
    const s = phantomSubject(1, 0, { size: 32 });
    const plane = 32 * 32;
    const labels = data.labels[1]!;
    expect(labels[0]).toBe(-1);
    expect(labels.at(-1)).toBe(-1);
    for (let k = 1; k < labels.length - 1; k += 7) {
      const counts = new Map<number, number>();
      for (let p = k * plane; p < (k + 1) * plane; p++) if (s.labels.data[p]! > 1) counts.set(s.labels.data[p]!, (counts.get(s.labels.data[p]!) ?? 0) + 1);
      const best = [...counts].sort((a, b) => b[1] - a[1])[0];
      expect(labels[k] === -1 ? undefined : data.classes[labels[k]!]).toBe(best && PHANTOM_ORGANS.find((o) => o.id === best[0])!.name);
    }
  });
});
