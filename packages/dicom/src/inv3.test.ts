import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'fflate';
import { createTar, parseTar } from 'nanotar';
import type { TarFileInput } from 'nanotar';
import plist from 'plist';
import type { PlistObject } from 'plist';
import { beforeAll, describe, expect, it } from 'vitest';
import { PLANE_FRAMES, patientToVoxel, patientMm, valueRange, voxelCoord, voxelIndex, voxelToPatient } from '@tomosort/volume';
import { FormatError, Inv3Error } from './formatErrors';
import type { Inv3Project } from './inv3';
import { readInv3 } from './inv3';

/** Debian package invesalius-examples (GPL-2): read in place, never copied into the repository. */
const CRANIUM = '/usr/share/doc/invesalius-examples/examples/Cranium.inv3';
const haveCranium = existsSync(CRANIUM);

describe.skipIf(!haveCranium)('readInv3 Cranium.inv3 (real head CT)', () => {
  let project: Inv3Project;
  let matrixDat: Uint8Array;
  beforeAll(() => {
    const bytes = readFileSync(CRANIUM);
    project = readInv3(bytes, 'Cranium.inv3');
    // An independent read of the raw matrix, to check voxel placement by hand.
    const entry = parseTar(gunzipSync(bytes)).find((e) => e.name.endsWith('/matrix.dat'));
    matrixDat = entry?.data ?? new Uint8Array();
  });

  it('project fields: name, modality, window', () => {
    expect(project.name).toBe('ProMED CT 0051');
    expect(project.modality).toBe('CT');
    expect(project.window).toEqual({ center: -18, width: 406 });
  });

  it('matrix shape [108, 256, 256] → dims [256, 256, 108], spacing [0.957, 0.957, 1.5], coronal frame', () => {
    const v = project.volume;
    expect(v.data).toBeInstanceOf(Int16Array);
    expect(v.dims).toEqual([256, 256, 108]);
    expect(v.spacing[0]).toBeCloseTo(0.9570312, 7);
    expect(v.spacing[1]).toBeCloseTo(0.9570312, 7);
    expect(v.spacing[2]).toBe(1.5);
    expect(v.direction).toEqual(PLANE_FRAMES.coronal);
    expect(v.modality).toBe('CT');
  });

  it('origin puts the volume centre (127.5, 127.5, 53.5) at patient (0, 0, 0)', () => {
    const centre = voxelToPatient(project.volume, voxelCoord(127.5, 127.5, 53.5));
    centre.forEach((x) => expect(x).toBeCloseTo(0, 9));
    // i → L, j → feet, k → back: voxel (0, 0, 0) is right, head, front.
    const o = project.volume.origin;
    expect(o[0]).toBeCloseTo(-127.5 * 0.9570312, 6);
    expect(o[1]).toBeCloseTo(-53.5 * 1.5, 9);
    expect(o[2]).toBeCloseTo(127.5 * 0.9570312, 6);
    const back = patientToVoxel(project.volume, patientMm(0, 0, 0));
    expect(back[2]).toBeCloseTo(53.5, 9);
  });

  it('HU range −1024..2986 (within main.plist scalar_range −1024..3033)', () => {
    expect(valueRange(project.volume.data)).toEqual([-1024, 2986]);
  });

  it.each([
    [50, 128, 128, -6],
    [10, 100, 30, -1014],
  ])('matrix.dat[slice %i, row %i, col %i] = %i = volume(i=col, j=row, k=slice)', (s, r, c, hu) => {
    const offset = 2 * (c + 256 * (r + 256 * s));
    const raw = new DataView(matrixDat.buffer, matrixDat.byteOffset, matrixDat.length).getInt16(offset, true);
    expect(raw).toBe(hu);
    expect(project.volume.data[voxelIndex(project.volume, c, r, s)]).toBe(hu);
  });

  it('two masks [109, 257, 257] cropped to [256, 256, 108] with the CT geometry, values 0/1', () => {
    expect(project.masks.map((m) => [m.index, m.name, m.thresholdRange])).toEqual([
      [0, 'Máscara 1', [226, 3071]],
      [1, 'Máscara 2', [-142, 2986]],
    ]);
    for (const m of project.masks) {
      const { data, ...geometry } = m.volume;
      const { data: _ct, ...ctGeometry } = project.volume;
      expect({ ...geometry, modality: 'CT' }).toEqual(ctGeometry);
      expect(m.volume.modality).toBe('SEG');
      expect(valueRange(data)).toEqual([0, 1]);
    }
  });

  it.each([
    [0, 475_759],
    [1, 2_319_106],
  ])('mask_%i equals thresholding the CT at its threshold_range (%i voxels inside)', (index, inside) => {
    const mask = project.masks[index];
    if (mask?.thresholdRange === undefined) throw new Error(`mask ${index} has no threshold range`);
    const [lo, hi] = mask.thresholdRange;
    const ct = project.volume.data;
    let agree = 0;
    let count = 0;
    for (let n = 0; n < ct.length; n++) {
      const t = ct[n]! >= lo && ct[n]! <= hi ? 1 : 0;
      if (t === mask.volume.data[n]) agree++;
      count += mask.volume.data[n]!;
    }
    // Measured: 100% agreement for both masks (they were never hand-edited).
    expect(agree / ct.length).toBeGreaterThanOrEqual(0.99999);
    expect(count).toBe(inside);
  });
});

/** A small synthetic project: matrix shape [2, 3, 4] (slices, rows, cols), one mask with a single voxel set. */
function tinyProject(
  overrides: { main?: Record<string, unknown>; files?: Record<string, Uint8Array | string | undefined> } = {},
): Uint8Array {
  const matrix = new Uint8Array(2 * 3 * 4 * 2);
  const view = new DataView(matrix.buffer);
  for (let n = 0; n < 24; n++) view.setInt16(2 * n, n * 10 - 100, true);
  const mask = new Uint8Array(3 * 4 * 5);
  mask[0] = 1; // border bookkeeping byte: must be dropped
  mask[2 + 5 * (3 + 4 * 1)] = 255; // [slice 1, row 3, col 2] with border → voxel (i=1, j=2, k=0)
  const main: Record<string, unknown> = {
    name: 'tiny',
    modality: 'CT',
    orientation: 0,
    spacing: [0.5, 0.75, 2],
    matrix: { dtype: 'int16', filename: 'matrix.dat', shape: [2, 3, 4] },
    masks: { '0': 'mask_0.plist' },
    window_level: 40,
    window_width: 400,
    ...overrides.main,
  };
  const maskPlist = {
    index: 0,
    name: 'spot',
    mask_file: 'mask_0.dat',
    mask_shape: [3, 4, 5],
    threshold_range: [100, 200],
  };
  const files: Record<string, Uint8Array | string | undefined> = {
    'main.plist': plist.build(Object.fromEntries(Object.entries(main).filter((e) => e[1] !== undefined)) as PlistObject),
    'matrix.dat': matrix,
    'mask_0.plist': plist.build(maskPlist),
    'mask_0.dat': mask,
    ...overrides.files,
  };
  const items: TarFileInput[] = Object.entries(files)
    .filter((e): e is [string, Uint8Array | string] => e[1] !== undefined)
    .map(([n, data]) => ({ name: `tmpabc/${n}`, data }));
  return gzipSync(createTar(items));
}

describe('readInv3 synthetic projects', () => {
  it('shape [2,3,4] axial → dims [4,3,2], axial frame, centred origin, values in C order', () => {
    const p = readInv3(tinyProject(), 'tiny.inv3');
    expect(p.volume.dims).toEqual([4, 3, 2]);
    expect(p.volume.spacing).toEqual([0.5, 0.75, 2]);
    expect(p.volume.direction).toEqual(PLANE_FRAMES.axial);
    // centre voxel (1.5, 1, 0.5) → (0, 0, 0): origin = −(1.5·0.5, 1·0.75, 0.5·2)
    expect(p.volume.origin).toEqual([-0.75, -0.75, -1]);
    expect(Array.from(p.volume.data)).toEqual(Array.from({ length: 24 }, (_, n) => n * 10 - 100));
    expect(p.window).toEqual({ center: 40, width: 400 });
  });

  it('mask [3,4,5] with border → [4,3,2] with one voxel at (1, 2, 0)', () => {
    const [m] = readInv3(tinyProject(), 'tiny.inv3').masks;
    expect(m?.name).toBe('spot');
    expect(m?.thresholdRange).toEqual([100, 200]);
    const ones = Array.from(m?.volume.data ?? []).flatMap((x, n) => (x ? [n] : []));
    expect(ones).toEqual([1 + 4 * 2]);
  });

  it.each([
    [1, 'coronal'],
    [2, 'sagittal'],
  ] as const)('orientation %i → PLANE_FRAMES.%s', (orientation, plane) => {
    const p = readInv3(tinyProject({ main: { orientation } }), 'tiny.inv3');
    expect(p.volume.direction).toEqual(PLANE_FRAMES[plane]);
    voxelToPatient(p.volume, voxelCoord(1.5, 1, 0.5)).forEach((x) => expect(x).toBeCloseTo(0, 12));
  });

  it('no window_level → no window; no masks dict → no masks', () => {
    const p = readInv3(tinyProject({ main: { window_level: undefined, masks: undefined } }), 'tiny.inv3');
    expect(p.window).toBeUndefined();
    expect(p.masks).toEqual([]);
  });
});

describe('readInv3 errors', () => {
  const expectInv3Error = (bytes: Uint8Array, message: string | RegExp): void => {
    let error: unknown;
    try {
      readInv3(bytes, 'bad.inv3');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Inv3Error);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Inv3Error).file).toBe('bad.inv3');
    if (typeof message === 'string') expect((error as Error).message).toBe(message);
    else expect((error as Error).message).toMatch(message);
  };

  it('plain text (not gzip)', () => {
    expectInv3Error(new TextEncoder().encode('hello'), 'bad.inv3: not an InVesalius 3 project (not gzip-compressed)');
  });

  it('gzip cut in half', () => {
    const gz = tinyProject();
    expectInv3Error(gz.subarray(0, gz.length >> 1), /^bad\.inv3: truncated or corrupt gzip stream/);
  });

  it('a tar without main.plist', () => {
    expectInv3Error(
      gzipSync(createTar([{ name: 'proj/readme.txt', data: 'hi' }])),
      'bad.inv3: no main.plist in the archive: not an InVesalius 3 project',
    );
  });

  it('matrix.dat of 46 bytes for shape [2,3,4] int16 (48)', () => {
    expectInv3Error(
      tinyProject({ files: { 'matrix.dat': new Uint8Array(46) } }),
      'bad.inv3: matrix.dat holds 46 bytes but shape [2, 3, 4] int16 needs 48',
    );
  });

  it('matrix.dat missing', () => {
    expectInv3Error(
      tinyProject({ files: { 'matrix.dat': undefined } }),
      'bad.inv3: matrix.dat is named by the project but missing from the archive',
    );
  });

  it('mask_0.dat of the matrix size (no border)', () => {
    expectInv3Error(
      tinyProject({ files: { 'mask_0.dat': new Uint8Array(24) } }),
      'bad.inv3: mask_0.dat holds 24 bytes but mask_shape [3, 4, 5] uint8 needs 60',
    );
  });

  it('orientation 3', () => {
    expectInv3Error(
      tinyProject({ main: { orientation: 3 } }),
      'bad.inv3: main.plist orientation = 3 is not 0 (axial), 1 (coronal) or 2 (sagittal)',
    );
  });

  it("matrix dtype 'float32'", () => {
    expectInv3Error(
      tinyProject({ main: { matrix: { dtype: 'float32', filename: 'matrix.dat', shape: [2, 3, 4] } } }),
      "bad.inv3: main.plist matrix.dtype = 'float32': only int16 is supported",
    );
  });

  it('spacing with two numbers', () => {
    expectInv3Error(
      tinyProject({ main: { spacing: [1, 1] } }),
      'bad.inv3: main.plist spacing: expected an array of 3 numbers, got [1,1]',
    );
  });

  it.each([
    [[0, 0.75, 2], '0, 0.75, 2'],
    [[0.5, -0.75, 2], '0.5, -0.75, 2'],
    [[0.5, 0.75, 20000.5], '0.5, 0.75, 20000.5'],
  ])('spacing %j → names the file and main.plist spacing', (spacing, shown) => {
    expectInv3Error(
      tinyProject({ main: { spacing } }),
      `bad.inv3: main.plist spacing = [${shown}]: each voxel size must be > 0 and ≤ 10000 mm`,
    );
  });

  it('main.plist that is not XML', () => {
    expectInv3Error(tinyProject({ files: { 'main.plist': 'not a plist' } }), /^bad\.inv3: main\.plist is not a valid XML plist/);
  });
});
