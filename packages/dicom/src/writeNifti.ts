import { gzipSync } from 'fflate';
import type { Volume, VoxelArray } from '@tomosort/volume';
import { NiftiError } from './formatErrors';

/** Options of {@link writeNifti}. */
export interface WriteNiftiOptions {
  /** gzip the file (what a `.nii.gz` name promises). Default false. */
  readonly gzip?: boolean;
  /**
   * `label`: intent_code NIFTI_INTENT_LABEL (1002), voxel values are label indices; `none`: plain
   * values. Default: `label` for a volume of modality 'SEG', else `none`.
   */
  readonly intent?: 'label' | 'none';
  /** `descrip` (up to 79 ASCII characters; longer is cut). Default 'tomosort'. */
  readonly description?: string;
  /** Names the file in error messages. Default 'volume.nii'. */
  readonly name?: string;
}

const HEADER_BYTES = 348;
/** Header + the 4-byte extension flag (all zero: no extensions). */
const VOX_OFFSET = 352;
const NIFTI_INTENT_LABEL = 1002;
/** xform code NIFTI_XFORM_SCANNER_ANAT: scanner-based anatomical coordinates. */
const XFORM_SCANNER_ANAT = 1;
/** xyzt_units: millimetres (NIFTI_UNITS_MM), no time unit. */
const UNITS_MM = 2;
/** NIfTI dims are int16. */
const MAX_DIM = 32767;

/** NIfTI datatype code and bits per voxel of each array type a Volume may hold (nifti1.h DT_*). */
function datatypeOf(data: VoxelArray): { code: number; bitpix: number } {
  if (data instanceof Uint8Array) return { code: 2, bitpix: 8 };
  if (data instanceof Int16Array) return { code: 4, bitpix: 16 };
  if (data instanceof Int32Array) return { code: 8, bitpix: 32 };
  if (data instanceof Float32Array) return { code: 16, bitpix: 32 };
  if (data instanceof Float64Array) return { code: 64, bitpix: 64 };
  return { code: 512, bitpix: 16 }; // Uint16Array
}

/** The 3×4 voxel → RAS (mm) affine of an LPS Volume: x and y negated, as readNifti undoes. */
function rasAffine(v: Pick<Volume, 'spacing' | 'direction' | 'origin'>): number[][] {
  const flip = [-1, -1, 1] as const;
  return [0, 1, 2].map((r) => [
    ...[0, 1, 2].map((c) => flip[r as 0 | 1 | 2] * v.direction[c as 0 | 1 | 2][r as 0 | 1 | 2] * v.spacing[c as 0 | 1 | 2] + 0),
    flip[r as 0 | 1 | 2] * v.origin[r as 0 | 1 | 2] + 0,
  ]);
}

/**
 * The qform of a rotation whose columns are the unit axis directions (RAS): quaternion (b, c, d)
 * and qfac (−1 when the axes are left-handed, the third column then negated), after
 * nifti_mat44_to_quatern in nifti1_io.c.
 */
function quaternion(cols: readonly (readonly number[])[]): { b: number; c: number; d: number; qfac: 1 | -1 } {
  // r[i][j]: row i, column j.
  const r = [0, 1, 2].map((i) => [0, 1, 2].map((j) => cols[j]![i]!));
  const at = (i: number, j: number) => r[i - 1]![j - 1]!;
  const det =
    at(1, 1) * (at(2, 2) * at(3, 3) - at(2, 3) * at(3, 2)) - at(1, 2) * (at(2, 1) * at(3, 3) - at(2, 3) * at(3, 1)) + at(1, 3) * (at(2, 1) * at(3, 2) - at(2, 2) * at(3, 1));
  const qfac = det < 0 ? -1 : 1;
  if (qfac < 0) for (let i = 0; i < 3; i++) r[i]![2] = -r[i]![2]!;
  let a = at(1, 1) + at(2, 2) + at(3, 3) + 1;
  let b: number;
  let c: number;
  let d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (at(3, 2) - at(2, 3))) / a;
    c = (0.25 * (at(1, 3) - at(3, 1))) / a;
    d = (0.25 * (at(2, 1) - at(1, 2))) / a;
  } else {
    const xd = 1 + at(1, 1) - (at(2, 2) + at(3, 3));
    const yd = 1 + at(2, 2) - (at(1, 1) + at(3, 3));
    const zd = 1 + at(3, 3) - (at(1, 1) + at(2, 2));
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (at(1, 2) + at(2, 1))) / b;
      d = (0.25 * (at(1, 3) + at(3, 1))) / b;
      a = (0.25 * (at(3, 2) - at(2, 3))) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (at(1, 2) + at(2, 1))) / c;
      d = (0.25 * (at(2, 3) + at(3, 2))) / c;
      a = (0.25 * (at(1, 3) - at(3, 1))) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (at(1, 3) + at(3, 1))) / d;
      c = (0.25 * (at(2, 3) + at(3, 2))) / d;
      a = (0.25 * (at(2, 1) - at(1, 2))) / d;
    }
    if (a < 0) [b, c, d] = [-b, -c, -d];
  }
  return { b, c, d, qfac };
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The voxel bytes, little endian. */
function voxelBytes(data: VoxelArray, bytesPer: number): Uint8Array {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (littleEndianHost || bytesPer === 1) return raw;
  const out = raw.slice();
  for (let o = 0; o < out.length; o += bytesPer) out.subarray(o, o + bytesPer).reverse();
  return out;
}

/**
 * Writes a Volume as a single-file NIfTI-1 image (.nii; gzip'd with `gzip: true`), little endian,
 * vox_offset 352, no extensions; the inverse of {@link readNifti}.
 *
 * Geometry: the Volume's LPS voxel → patient affine becomes NIfTI's RAS one (x and y negated):
 * srow_x/y/z = [−sx·d0x, −sy·d1x, −sz·d2x, −ox], [−sx·d0y, …, −oy], [sx·d0z, …, oz]; the same
 * transform is stored as the qform (quaternion, qfac = −1 for left-handed axes, pixdim = spacing),
 * both with code 1 (scanner anatomical), units mm. Values keep their type (uint8, int16, uint16,
 * int32, float32, float64), scl_slope 1, scl_inter 0; a label map (modality 'SEG') gets
 * intent_code NIFTI_INTENT_LABEL and cal_min/cal_max 0..its largest label.
 *
 * @throws NiftiError when a dimension exceeds NIfTI-1's int16 limit (32767).
 */
export function writeNifti(volume: Volume, options: WriteNiftiOptions = {}): Uint8Array {
  const name = options.name ?? 'volume.nii';
  if (volume.dims.some((d) => d > MAX_DIM)) throw new NiftiError(name, `dims [${volume.dims.join(', ')}] exceed NIfTI-1's limit of ${MAX_DIM} voxels per axis`);
  const { code, bitpix } = datatypeOf(volume.data);
  const voxels = voxelBytes(volume.data, bitpix / 8);
  const file = new Uint8Array(VOX_OFFSET + voxels.length);
  const h = new DataView(file.buffer);
  const le = true;
  h.setInt32(0, HEADER_BYTES, le);
  file[38] = 'r'.charCodeAt(0); // regular
  [3, volume.dims[0], volume.dims[1], volume.dims[2], 1, 1, 1, 1].forEach((d, n) => h.setInt16(40 + 2 * n, d, le));
  const label = (options.intent ?? (volume.modality === 'SEG' ? 'label' : 'none')) === 'label';
  if (label) h.setInt16(68, NIFTI_INTENT_LABEL, le);
  h.setInt16(70, code, le);
  h.setInt16(72, bitpix, le);

  const affine = rasAffine(volume);
  const unitCols = [0, 1, 2].map((c) => [0, 1, 2].map((r) => affine[r]![c]! / volume.spacing[c as 0 | 1 | 2]));
  const q = quaternion(unitCols);
  [q.qfac, volume.spacing[0], volume.spacing[1], volume.spacing[2], 1, 1, 1, 1].forEach((p, n) => h.setFloat32(76 + 4 * n, p, le));
  h.setFloat32(108, VOX_OFFSET, le);
  h.setFloat32(112, 1, le); // scl_slope
  h.setFloat32(116, 0, le); // scl_inter
  file[123] = UNITS_MM;
  if (label) {
    let max = 0;
    for (let n = 0; n < volume.data.length; n++) if (volume.data[n]! > max) max = volume.data[n]!;
    h.setFloat32(124, max, le); // cal_max
    h.setFloat32(128, 0, le); // cal_min
  }
  const descrip = (options.description ?? 'tomosort').replace(/[^\x20-\x7e]/g, '?').slice(0, 79);
  for (let n = 0; n < descrip.length; n++) file[148 + n] = descrip.charCodeAt(n);
  h.setInt16(252, XFORM_SCANNER_ANAT, le); // qform_code
  h.setInt16(254, XFORM_SCANNER_ANAT, le); // sform_code
  [q.b, q.c, q.d].forEach((x, n) => h.setFloat32(256 + 4 * n, x, le));
  [0, 1, 2].forEach((r) => h.setFloat32(268 + 4 * r, affine[r]![3]!, le)); // qoffset_x/y/z
  affine.forEach((row, r) => row.forEach((x, c) => h.setFloat32(280 + 16 * r + 4 * c, x, le)));
  file.set([0x6e, 0x2b, 0x31, 0], 344); // "n+1\0": single file
  file.set(voxels, VOX_OFFSET);
  return options.gzip ? gzipSync(file) : file;
}
