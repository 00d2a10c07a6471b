import { gzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { voxelCoord, voxelToPatient } from '@tomosort/volume';
import { FormatError, NiftiError } from './formatErrors';
import { readNifti } from './nifti';
import { int16Bytes, niftiFile } from './testing/niftiFile';
import type { HeaderSpec } from './testing/niftiFile';

const ramp = (n: number, from = 0): number[] => Array.from({ length: n }, (_, x) => from + x);

/** 3×4×2 int16 ramp, sform RAS: x = −0.5 i + 90, y = 0.75 j − 120, z = 2.5 k − 60. */
const SFORM_SPEC: HeaderSpec = {
  dim: [3, 3, 4, 2, 1, 1, 1, 1],
  pixdim: [1, 0.5, 0.75, 2.5],
  sformCode: 1,
  srow: [
    [-0.5, 0, 0, 90],
    [0, 0.75, 0, -120],
    [0, 0, 2.5, -60],
  ],
};
const sformFile = (): Uint8Array => niftiFile(SFORM_SPEC, int16Bytes(ramp(24, -5)));

const expectVec = (got: readonly number[], want: readonly number[]): void => {
  expect(got).toHaveLength(want.length);
  want.forEach((w, n) => expect(got[n]).toBeCloseTo(w, 5));
};

describe('readNifti geometry', () => {
  it('dims=[3,4,2] int16, sform (-0.5, 0.75, 2.5) → LPS direction diag(1,-1,1), origin (-90, 120, -60)', () => {
    const v = readNifti(sformFile(), 'ramp.nii');
    expect(v.dims).toEqual([3, 4, 2]);
    expect(v.data).toBeInstanceOf(Int16Array);
    expect(Array.from(v.data)).toEqual(ramp(24, -5));
    expectVec(v.spacing, [0.5, 0.75, 2.5]);
    expect(v.direction).toEqual([
      [1, 0, 0],
      [0, -1, 0],
      [0, 0, 1],
    ]);
    expectVec(v.origin, [-90, 120, -60]);
    // RAS of voxel (2,3,1) = (89, -117.75, -57.5) → LPS (-89, 117.75, -57.5)
    expectVec(voxelToPatient(v, voxelCoord(2, 3, 1)), [-89, 117.75, -57.5]);
    expect(v.modality).toBe('OT');
  });

  it('dims=[3,4,2] oblique sform (30° about z, 2×2×3 mm) → rotated LPS cosines', () => {
    const c = Math.cos(Math.PI / 6);
    const s = Math.sin(Math.PI / 6);
    const spec: HeaderSpec = {
      ...SFORM_SPEC,
      srow: [
        [2 * c, -2 * s, 0, 10],
        [2 * s, 2 * c, 0, 20],
        [0, 0, 3, 30],
      ],
    };
    const v = readNifti(niftiFile(spec, int16Bytes(ramp(24))), 'oblique.nii');
    expectVec(v.spacing, [2, 2, 3]);
    expectVec(v.direction[0], [-c, -s, 0]);
    expectVec(v.direction[1], [s, -c, 0]);
    expectVec(v.direction[2], [0, 0, 1]);
    // RAS (10 + 2c·1 − 2s·2, 20 + 2s·1 + 2c·2, 30 + 3·1) for voxel (1,2,1)
    expectVec(voxelToPatient(v, voxelCoord(1, 2, 1)), [-(10 + 2 * c - 4 * s), -(20 + 2 * s + 4 * c), 33]);
  });

  it('sform_code > 0 wins over a qform', () => {
    const spec: HeaderSpec = { ...SFORM_SPEC, qformCode: 1, quatern: [0, 0, 1], qoffset: [1, 2, 3] };
    const v = readNifti(niftiFile(spec, int16Bytes(ramp(24))), 'both.nii');
    expectVec(v.origin, [-90, 120, -60]);
  });

  it('qform only: quaternion (0,0,1) = 180° about z, qfac −1, pixdim (2,3,4) → LPS diag(1,1,-1)', () => {
    const spec: HeaderSpec = {
      dim: [3, 3, 4, 2, 1, 1, 1, 1],
      pixdim: [-1, 2, 3, 4],
      qformCode: 1,
      quatern: [0, 0, 1],
      qoffset: [10, 20, 30],
    };
    const v = readNifti(niftiFile(spec, int16Bytes(ramp(24))), 'qform.nii');
    expectVec(v.spacing, [2, 3, 4]);
    expectVec(v.direction[0], [1, 0, 0]);
    expectVec(v.direction[1], [0, 1, 0]);
    expectVec(v.direction[2], [0, 0, -1]);
    expectVec(v.origin, [-10, -20, 30]);
    // RAS (10 − 2·2, 20 − 3·1, 30 − 4·1) → LPS (−6, −17, 26)
    expectVec(voxelToPatient(v, voxelCoord(2, 1, 1)), [-6, -17, 26]);
  });

  it('no qform/sform: pixdim (1.5, 1.5, 5) along RAS axes → LPS diag(-1,-1,1) at the origin', () => {
    const spec: HeaderSpec = { dim: [3, 3, 4, 2, 1, 1, 1, 1], pixdim: [1, 1.5, 1.5, 5] };
    const v = readNifti(niftiFile(spec, int16Bytes(ramp(24))), 'plain.nii');
    expectVec(v.spacing, [1.5, 1.5, 5]);
    expect(v.direction).toEqual([
      [-1, 0, 0],
      [0, -1, 0],
      [0, 0, 1],
    ]);
    expect(v.origin).toEqual([0, 0, 0]);
  });

  it('xyzt_units = metres: sform of 0.001 m → 1 mm spacing', () => {
    const spec: HeaderSpec = {
      dim: [3, 2, 2, 2, 1, 1, 1, 1],
      xyztUnits: 1,
      sformCode: 1,
      srow: [
        [0.001, 0, 0, 0.01],
        [0, 0.001, 0, 0],
        [0, 0, 0.002, 0],
      ],
    };
    const v = readNifti(niftiFile(spec, int16Bytes(ramp(8))), 'metres.nii');
    expectVec(v.spacing, [1, 1, 2]);
    expectVec(v.origin, [-10, 0, 0]);
  });
});

describe('readNifti values', () => {
  const cases = [
    { label: 'uint8', code: 2, bitpix: 8, ctor: Uint8Array, put: (d: DataView, n: number, x: number) => d.setUint8(n, x), bytes: 1 },
    { label: 'int16', code: 4, bitpix: 16, ctor: Int16Array, put: (d: DataView, n: number, x: number) => d.setInt16(n, x, true), bytes: 2 },
    { label: 'uint16', code: 512, bitpix: 16, ctor: Uint16Array, put: (d: DataView, n: number, x: number) => d.setUint16(n, x, true), bytes: 2 },
    { label: 'int32', code: 8, bitpix: 32, ctor: Int32Array, put: (d: DataView, n: number, x: number) => d.setInt32(n, x, true), bytes: 4 },
    { label: 'float32', code: 16, bitpix: 32, ctor: Float32Array, put: (d: DataView, n: number, x: number) => d.setFloat32(n, x, true), bytes: 4 },
    { label: 'float64', code: 64, bitpix: 64, ctor: Float64Array, put: (d: DataView, n: number, x: number) => d.setFloat64(n, x, true), bytes: 8 },
    { label: 'int8 → Int16Array', code: 256, bitpix: 8, ctor: Int16Array, put: (d: DataView, n: number, x: number) => d.setInt8(n, x - 10), bytes: 1, shift: -10 },
    { label: 'uint32 → Float64Array', code: 768, bitpix: 32, ctor: Float64Array, put: (d: DataView, n: number, x: number) => d.setUint32(n, x + 4e9, true), bytes: 4, shift: 4e9 },
  ];
  it.each(cases)('dims=[2,3,2] $label keeps the voxel values', ({ code, bitpix, ctor, put, bytes, shift }) => {
    const raw = new Uint8Array(12 * bytes);
    const d = new DataView(raw.buffer);
    for (let n = 0; n < 12; n++) put(d, n * bytes, n * 7);
    const v = readNifti(niftiFile({ dim: [3, 2, 3, 2, 1, 1, 1, 1], datatype: code, bitpix }, raw), 'types.nii');
    expect(v.data).toBeInstanceOf(ctor);
    expect(Array.from(v.data)).toEqual(ramp(12).map((n) => n * 7 + (shift ?? 0)));
  });

  it('dims=[3,4,2] big-endian int16 → same values as little endian', () => {
    const v = readNifti(niftiFile({ ...SFORM_SPEC, littleEndian: false }, int16Bytes(ramp(24, -5), false)), 'be.nii');
    expect(Array.from(v.data)).toEqual(ramp(24, -5));
    expectVec(v.origin, [-90, 120, -60]);
  });

  it('int16 with scl_slope 2, scl_inter −1024 → Float32Array 2v − 1024', () => {
    const v = readNifti(niftiFile({ ...SFORM_SPEC, slope: 2, inter: -1024 }, int16Bytes(ramp(24))), 'scaled.nii');
    expect(v.data).toBeInstanceOf(Float32Array);
    expect(Array.from(v.data)).toEqual(ramp(24).map((x) => 2 * x - 1024));
  });

  it('int16 with identity scaling (1, 0) or slope 0 stays Int16Array', () => {
    for (const [slope, inter] of [
      [1, 0],
      [0, 5],
    ] as const) {
      const v = readNifti(niftiFile({ ...SFORM_SPEC, slope, inter }, int16Bytes(ramp(24))), 'unscaled.nii');
      expect(v.data).toBeInstanceOf(Int16Array);
      expect(Array.from(v.data)).toEqual(ramp(24));
    }
  });

  it('.nii.gz (gzip magic) → same volume as the .nii', () => {
    const plain = readNifti(sformFile(), 'ramp.nii');
    const gz = readNifti(gzipSync(sformFile()), 'ramp.nii.gz');
    expect(gz).toEqual(plain);
  });

  it('vox_offset 400 (extension bytes before the voxels) is honoured', () => {
    const v = readNifti(niftiFile({ ...SFORM_SPEC, voxOffset: 400 }, int16Bytes(ramp(24))), 'ext.nii');
    expect(Array.from(v.data)).toEqual(ramp(24));
  });
});

describe('readNifti 4D', () => {
  const fourD = (): Uint8Array =>
    niftiFile({ ...SFORM_SPEC, dim: [4, 3, 4, 2, 3, 1, 1, 1] }, int16Bytes([...ramp(24), ...ramp(24, 100), ...ramp(24, 200)]));

  it('dims=[3,4,2,3] without { volume } → NiftiError naming the file and dim[4]', () => {
    expect(() => readNifti(fourD(), 'fmri.nii')).toThrow(
      'fmri.nii: holds 3 volumes (dim[4] = 3); choose one, t in 0..2: on the command line add #t=N to the file name (fmri.nii#t=0), in code pass readNifti(…, { volume: N })',
    );
  });

  it('dims=[3,4,2,3] with { volume: 1 } → the second volume', () => {
    const v = readNifti(fourD(), 'fmri.nii', { volume: 1 });
    expect(v.dims).toEqual([3, 4, 2]);
    expect(Array.from(v.data)).toEqual(ramp(24, 100));
  });

  it('dims=[3,4,2,3] with { volume: 3 } → NiftiError', () => {
    expect(() => readNifti(fourD(), 'fmri.nii', { volume: 3 })).toThrow(NiftiError);
  });

  it('dims=[3,4,2,1,2] (5D vector image) → NiftiError', () => {
    const f = niftiFile({ ...SFORM_SPEC, dim: [5, 3, 4, 2, 1, 2, 1, 1] }, int16Bytes(ramp(48)));
    expect(() => readNifti(f, 'vec.nii')).toThrow('vec.nii: dim[5] = 2: 5D+ (vector, tensor) images are not supported');
  });
});

describe('readNifti errors', () => {
  const caught = (f: () => unknown): NiftiError => {
    try {
      f();
    } catch (e) {
      if (e instanceof NiftiError) return e;
      throw e;
    }
    throw new Error('no error thrown');
  };

  it('sizeof_hdr = 12345 → not NIfTI-1', () => {
    const f = sformFile();
    new DataView(f.buffer).setInt32(0, 12345, true);
    const e = caught(() => readNifti(f, 'brain.nii.gz'));
    expect(e.message).toBe('brain.nii.gz: not a NIfTI-1 file (sizeof_hdr = 12345, expected 348)');
    expect(e.file).toBe('brain.nii.gz');
    expect(e).toBeInstanceOf(FormatError);
    expect(e.name).toBe('NiftiError');
  });

  it('a 100-byte file → not NIfTI-1', () => {
    expect(() => readNifti(new Uint8Array(100), 'short.nii')).toThrow(
      'short.nii: not a NIfTI-1 file (100 bytes, shorter than the 348-byte header)',
    );
  });

  it('sizeof_hdr = 540 → NIfTI-2 not supported', () => {
    const f = sformFile();
    new DataView(f.buffer).setInt32(0, 540, true);
    expect(() => readNifti(f, 'n2.nii')).toThrow('n2.nii: NIfTI-2 files are not supported (sizeof_hdr = 540)');
  });

  it('magic "ni1" (.hdr of a pair) and a bad magic are refused', () => {
    const pair = sformFile();
    pair.set([0x6e, 0x69, 0x31], 344);
    expect(() => readNifti(pair, 'a.hdr')).toThrow('a.hdr: is the header of a .hdr/.img pair');
    const bad = sformFile();
    bad.set([0x78, 0x78, 0x78], 344);
    expect(() => readNifti(bad, 'bad.nii')).toThrow('bad.nii: not a NIfTI-1 file (magic = "xxx", expected "n+1")');
  });

  it('dims=[3,4,2] int16 with 10 bytes missing → truncated', () => {
    const f = sformFile();
    expect(() => readNifti(f.subarray(0, f.length - 10), 'cut.nii')).toThrow(
      'cut.nii: truncated: volume 0 needs bytes 352..400 (24 int16 voxels) but the file holds 390',
    );
  });

  it('a .nii.gz cut in half → truncated gzip', () => {
    const gz = gzipSync(sformFile());
    expect(() => readNifti(gz.subarray(0, gz.length >> 1), 'cut.nii.gz')).toThrow(/^cut\.nii\.gz: truncated or corrupt gzip/);
  });

  it.each([
    [128, 24, 'RGB24'],
    [32, 64, 'complex64'],
    [1792, 128, 'complex128'],
    [2304, 32, 'RGBA32'],
  ])('datatype %i → unsupported %s', (code, bitpix, label) => {
    const f = niftiFile({ ...SFORM_SPEC, datatype: code, bitpix }, new Uint8Array(24 * (bitpix / 8)));
    expect(() => readNifti(f, 'colour.nii')).toThrow(`colour.nii: unsupported datatype ${label} (datatype = ${code})`);
  });

  it('a sheared sform → NiftiError (invalid geometry)', () => {
    const spec: HeaderSpec = {
      ...SFORM_SPEC,
      srow: [
        [1, 0.5, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
      ],
    };
    expect(() => readNifti(niftiFile(spec, int16Bytes(ramp(24))), 'shear.nii')).toThrow(/^shear\.nii: invalid geometry/);
  });
});

describe('readNifti refuses geometry it cannot place correctly, naming the file and the field', () => {
  const QFORM: HeaderSpec = { dim: [3, 3, 4, 2, 1, 1, 1, 1], pixdim: [1, 2, 3, 4], qformCode: 1, quatern: [0, 0, 0], qoffset: [10, 20, 30] };
  const PLAIN: HeaderSpec = { dim: [3, 3, 4, 2, 1, 1, 1, 1], pixdim: [1, 1.5, 1.5, 5] };
  const withExtension = (esize: number): Uint8Array => {
    const f = niftiFile({ ...SFORM_SPEC, voxOffset: 400 }, int16Bytes(ramp(24)));
    f[348] = 1;
    new DataView(f.buffer).setInt32(352, esize, true);
    return f;
  };
  const cases: [string, () => Uint8Array, string | RegExp][] = [
    ['vox_offset 351 (voxels would shift one byte)', () => niftiFile({ ...SFORM_SPEC, voxOffset: 351 }, int16Bytes(ramp(24))), 'bad.nii: vox_offset = 351 must be an integer from 352 (header + extension flag) to the file length 399'],
    ['vox_offset 352.5', () => niftiFile({ ...SFORM_SPEC, voxOffset: 352.5 }, int16Bytes(ramp(24))), /^bad\.nii: vox_offset = 352\.5 must be an integer/],
    ['vox_offset beyond the file', () => { const f = sformFile(); new DataView(f.buffer).setFloat32(108, 1e6, true); return f; }, /^bad\.nii: vox_offset = 1000000 must be an integer from 352 .* to the file length 400$/],
    ['an extension whose esize 20 is not a multiple of 16', () => withExtension(20), /^bad\.nii: extension at byte 352 has esize = 20: must be a positive multiple of 16/],
    ['an extension running past vox_offset', () => withExtension(64), /^bad\.nii: extension at byte 352 has esize = 64/],
    ['sform origin −Infinity', () => niftiFile({ ...SFORM_SPEC, srow: [[-0.5, 0, 0, -Infinity], [0, 0.75, 0, 0], [0, 0, 2.5, 0]] }, int16Bytes(ramp(24))), /^bad\.nii: the sform \(srow_x\/y\/z\) affine has a non-finite entry/],
    ['sform origin 1e30 mm', () => niftiFile({ ...SFORM_SPEC, srow: [[-0.5, 0, 0, 1e30], [0, 0.75, 0, 0], [0, 0, 2.5, 0]] }, int16Bytes(ramp(24))), /^bad\.nii: the sform \(srow_x\/y\/z\) origin \[-1\.0\d*e\+30, 0, 0\] mm lies beyond ±1000000 mm$/],
    ['sform voxel size 1e38 mm', () => niftiFile({ ...SFORM_SPEC, srow: [[1e38, 0, 0, 0], [0, 0.75, 0, 0], [0, 0, 2.5, 0]] }, int16Bytes(ramp(24))), /^bad\.nii: degenerate affine \(sform \(srow_x\/y\/z\)\): voxel sizes \[9\.99\d*e\+37, 0\.75, 2\.5\] mm must be > 0 and ≤ 10000$/],
    ['qoffset_x NaN', () => niftiFile({ ...QFORM, qoffset: [NaN, 0, 0] }, int16Bytes(ramp(24))), /^bad\.nii: the qform \(quatern_\*, qoffset_\*\) affine has a non-finite entry/],
    ['qform quaternion (0.9, 0.9, 0): b² + c² + d² = 1.62', () => niftiFile({ ...QFORM, quatern: [0.9, 0.9, 0] }, int16Bytes(ramp(24))), /^bad\.nii: qform quaternion \(quatern_b, c, d\) = \(0\.89\d*, 0\.89\d*, 0\) is invalid: b² \+ c² \+ d² = 1\.6\d* exceeds 1$/],
    ['qform pixdim[2] 0 (was silently 1 mm)', () => niftiFile({ ...QFORM, pixdim: [1, 2, 0, 4] }, int16Bytes(ramp(24))), 'bad.nii: pixdim[2] = 0: a voxel size must be > 0 and ≤ 10000'],
    ['method-1 pixdim[1] 0 (was silently 1 mm)', () => niftiFile({ ...PLAIN, pixdim: [1, 0, 1.5, 5] }, int16Bytes(ramp(24))), 'bad.nii: pixdim[1] = 0: a voxel size must be > 0 and ≤ 10000'],
    ['method-1 pixdim[3] NaN', () => niftiFile({ ...PLAIN, pixdim: [1, 1.5, 1.5, NaN] }, int16Bytes(ramp(24))), 'bad.nii: pixdim[3] = NaN: a voxel size must be > 0 and ≤ 10000'],
    ['method-1 pixdim[3] Infinity', () => niftiFile({ ...PLAIN, pixdim: [1, 1.5, 1.5, Infinity] }, int16Bytes(ramp(24))), 'bad.nii: pixdim[3] = Infinity: a voxel size must be > 0 and ≤ 10000'],
    ['method-1 pixdim[2] −1.5', () => niftiFile({ ...PLAIN, pixdim: [1, 1.5, -1.5, 5] }, int16Bytes(ramp(24))), 'bad.nii: pixdim[2] = -1.5: a voxel size must be > 0 and ≤ 10000'],
    ['qform pixdim[1] 1e38', () => niftiFile({ ...QFORM, pixdim: [1, 1e38, 3, 4] }, int16Bytes(ramp(24))), /^bad\.nii: pixdim\[1\] = 9\.99\d*e\+37: a voxel size must be > 0 and ≤ 10000$/],
  ];
  it.each(cases)('dims=[3,4,2] %s → NiftiError', (_label, make, message) => {
    expect(() => readNifti(make(), 'bad.nii')).toThrow(NiftiError);
    expect(() => readNifti(make(), 'bad.nii')).toThrow(message);
  });

  it('a .nii.gz whose CRC-32 is wrong (voxels silently wrong before) → NiftiError naming the file', () => {
    const gz = gzipSync(sformFile());
    const view = new DataView(gz.buffer, gz.byteOffset, gz.length);
    view.setUint32(gz.length - 8, view.getUint32(gz.length - 8, true) ^ 0x100, true);
    expect(() => readNifti(gz, 'crc.nii.gz')).toThrow(/^crc\.nii\.gz: truncated or corrupt gzip stream \(CRC-32 is/);
  });

  it('a 2D image (dim[0] = 2) with pixdim[3] = 0 still reads, its one slice 1 mm thick', () => {
    const v = readNifti(niftiFile({ dim: [2, 3, 4, 1, 1, 1, 1, 1], pixdim: [1, 1.5, 1.5, 0] }, int16Bytes(ramp(12))), 'flat.nii');
    expectVec(v.spacing, [1.5, 1.5, 1]);
  });
});
