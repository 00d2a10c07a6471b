import { NIFTI1 } from 'nifti-reader-js';
import type { Direction, Vec3, Volume, VoxelArray } from '@tomosort/volume';
import { createVolume, isVolumeError, norm } from '@tomosort/volume';
import { NiftiError } from './formatErrors';
import { gunzipFile, isGzip } from './gzip';
import { MAX_POSITION_MM, MAX_SPACING_MM } from './limits';

/** Options of {@link readNifti}. */
export interface ReadNiftiOptions {
  /**
   * 0-based index of the volume to read from a 4D file (dim[4] > 1). Required for such files,
   * so that a time series is never silently cut to its first frame. Default: 0 for 3D files.
   */
  volume?: number;
  /** DICOM modality code given to the Volume (NIfTI does not record one). Default 'OT'. */
  modality?: string;
}

const HEADER_BYTES = 348;
const NIFTI2_HEADER_BYTES = 540;
/** Where NIfTI-1 keeps srow_x, srow_y, srow_z (12 float32). */
const SROW_OFFSET = 280;
/** A single-file NIfTI-1 has the 348-byte header and the 4-byte extension flag before any voxel. */
const MIN_VOX_OFFSET = 352;
/** Largest b² + c² + d² of a qform quaternion accepted (float32 rounding of a unit quaternion stays far below). */
const MAX_QUATERNION_NORM2 = 1 + 1e-4;

/** How one NIfTI datatype code is read; `out` converts types a Volume cannot hold as they are. */
interface DatatypeReader {
  readonly label: string;
  readonly bytes: number;
  readonly view: (buf: ArrayBuffer) => VoxelArray | Int8Array | Uint32Array;
  readonly out?: (raw: Int8Array | Uint32Array) => VoxelArray;
}

/** NIfTI datatype codes (nifti1.h DT_*) this reader accepts. */
const DATATYPES: Readonly<Record<number, DatatypeReader>> = {
  2: { label: 'uint8', bytes: 1, view: (b) => new Uint8Array(b) },
  4: { label: 'int16', bytes: 2, view: (b) => new Int16Array(b) },
  8: { label: 'int32', bytes: 4, view: (b) => new Int32Array(b) },
  16: { label: 'float32', bytes: 4, view: (b) => new Float32Array(b) },
  64: { label: 'float64', bytes: 8, view: (b) => new Float64Array(b) },
  256: { label: 'int8', bytes: 1, view: (b) => new Int8Array(b), out: (a) => Int16Array.from(a) },
  512: { label: 'uint16', bytes: 2, view: (b) => new Uint16Array(b) },
  768: { label: 'uint32', bytes: 4, view: (b) => new Uint32Array(b), out: (a) => Float64Array.from(a) },
};

/** Datatype codes refused with a reason (nifti1.h). */
const REFUSED: Readonly<Record<number, string>> = {
  1: 'binary (1 bit)',
  32: 'complex64',
  128: 'RGB24',
  1024: 'int64',
  1280: 'uint64',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'RGBA32',
};

/** Millimetres per unit of NIfTI xyzt_units & 7 (unknown → mm). */
const MM_PER_UNIT: Readonly<Record<number, number>> = { 1: 1000, 2: 1, 3: 0.001 };

/**
 * Reads a NIfTI-1 volume (.nii, or .nii.gz, recognised by its gzip magic bytes) into an LPS Volume.
 *
 * Geometry: the NIfTI world frame is RAS. The voxel → world affine is the sform when
 * sform_code > 0, else the qform when qform_code > 0, else diag(pixdim) ("method 1"). Spacing
 * is the norm of each affine column (scaled to mm by xyzt_units), direction the unit columns,
 * origin the translation; x and y of direction and origin are negated to go RAS → LPS.
 * NIfTI stores voxels with i fastest, like Volume, so the buffer is used as is.
 *
 * Values: uint8, int16, uint16, int32, float32, float64 keep their typed array (int8 becomes
 * Int16Array, uint32 Float64Array). When scl_slope is non-zero and the pair is not the identity
 * (1, 0), values become `slope · v + inter` in a Float32Array (Float64Array for float64 input).
 *
 * @param bytes the whole file.
 * @param name file name, used in error messages.
 * @throws NiftiError when the bytes are not NIfTI-1, are truncated (a gzip stream whose CRC-32
 *   or ISIZE disagrees included), hold an unsupported datatype (RGB, complex, 64-bit integers),
 *   hold several volumes and `options.volume` is missing, or describe geometry that cannot be
 *   right: vox_offset not an integer in 352..file length (or extensions that overrun it), a used
 *   pixdim[1..3] that is not in (0, {@link MAX_SPACING_MM}] mm, a qform quaternion with
 *   b² + c² + d² > 1, an affine with a non-finite entry, an origin beyond ±{@link MAX_POSITION_MM} mm,
 *   voxel sizes of 0 or beyond {@link MAX_SPACING_MM} mm, or a sheared affine.
 */
export function readNifti(bytes: Uint8Array, name: string, options: ReadNiftiOptions = {}): Volume {
  const file = isGzip(bytes) ? gunzipFile(bytes, name, NiftiError) : bytes;
  const header = readHeader(file, name);
  const { dims, volumes } = imageDims(header, name);
  const t = chooseVolume(volumes, options.volume, name);

  const type = DATATYPES[header.datatypeCode];
  if (type === undefined) {
    const what = REFUSED[header.datatypeCode] ?? `unknown datatype code ${header.datatypeCode}`;
    throw new NiftiError(name, `unsupported datatype ${what} (datatype = ${header.datatypeCode})`);
  }
  const voxOffset = checkVoxOffset(header.vox_offset, file, header.littleEndian, name);
  const count = dims[0] * dims[1] * dims[2];
  const start = voxOffset + t * count * type.bytes;
  const end = start + count * type.bytes;
  if (end > file.length) {
    throw new NiftiError(
      name,
      `truncated: volume ${t} needs bytes ${start}..${end} (${count} ${type.label} voxels) but the file holds ${file.length}`,
    );
  }
  const buf = file.buffer.slice(file.byteOffset + start, file.byteOffset + end) as ArrayBuffer;
  if (!header.littleEndian) swapBytes(new Uint8Array(buf), type.bytes);
  const raw = type.view(buf);
  const native = type.out ? type.out(raw as Int8Array | Uint32Array) : (raw as VoxelArray);
  const data = applyScaling(native, header.scl_slope, header.scl_inter);

  const { spacing, direction, origin } = geometry(header, file, name);
  try {
    return createVolume({ data, dims, spacing, direction, origin, modality: options.modality ?? 'OT' });
  } catch (e) {
    if (isVolumeError(e)) throw new NiftiError(name, `invalid geometry: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * vox_offset of a single-file NIfTI-1: an integer (it is stored as a float), at least 352, within
 * the file; the extensions between byte 352 and it (when byte 348 flags some) each have an
 * esize that is a positive multiple of 16 and end at or before vox_offset.
 */
function checkVoxOffset(value: number, file: Uint8Array, littleEndian: boolean, name: string): number {
  if (!Number.isInteger(value) || value < MIN_VOX_OFFSET || value > file.length) {
    throw new NiftiError(
      name,
      `vox_offset = ${value} must be an integer from ${MIN_VOX_OFFSET} (header + extension flag) to the file length ${file.length}`,
    );
  }
  if ((file[348] ?? 0) !== 0) {
    const view = new DataView(file.buffer, file.byteOffset, file.length);
    for (let at = MIN_VOX_OFFSET; at < value; ) {
      if (at + 8 > value) throw new NiftiError(name, `extension at byte ${at} overruns vox_offset = ${value}`);
      const esize = view.getInt32(at, littleEndian);
      if (esize < 16 || esize % 16 !== 0 || at + esize > value) {
        throw new NiftiError(name, `extension at byte ${at} has esize = ${esize}: must be a positive multiple of 16 ending by vox_offset = ${value}`);
      }
      at += esize;
    }
  }
  return value;
}

function readHeader(file: Uint8Array, name: string): NIFTI1 {
  if (file.length < HEADER_BYTES) {
    throw new NiftiError(name, `not a NIfTI-1 file (${file.length} bytes, shorter than the ${HEADER_BYTES}-byte header)`);
  }
  const view = new DataView(file.buffer, file.byteOffset, HEADER_BYTES);
  const sizeLe = view.getInt32(0, true);
  const sizeBe = view.getInt32(0, false);
  if (sizeLe === NIFTI2_HEADER_BYTES || sizeBe === NIFTI2_HEADER_BYTES) {
    throw new NiftiError(name, 'NIfTI-2 files are not supported (sizeof_hdr = 540)');
  }
  if (sizeLe !== HEADER_BYTES && sizeBe !== HEADER_BYTES) {
    throw new NiftiError(name, `not a NIfTI-1 file (sizeof_hdr = ${sizeLe}, expected ${HEADER_BYTES})`);
  }
  const magic = String.fromCharCode(file[344]!, file[345]!, file[346]!);
  if (magic === 'ni1') {
    throw new NiftiError(name, 'is the header of a .hdr/.img pair; only single-file .nii is supported');
  }
  if (magic !== 'n+1') {
    throw new NiftiError(name, `not a NIfTI-1 file (magic = ${JSON.stringify(magic)}, expected "n+1")`);
  }
  const header = new NIFTI1();
  // The library reads extensions when given more than the header; we only need the header.
  header.readHeader(file.slice(0, HEADER_BYTES).buffer);
  return header;
}

function imageDims(header: NIFTI1, name: string): { dims: Vec3; volumes: number } {
  const d = header.dims;
  const rank = d[0] ?? 0;
  if (rank < 1 || rank > 7) throw new NiftiError(name, `dim[0] = ${rank} is not in 1..7`);
  const at = (n: number): number => (n <= rank ? (d[n] ?? 0) : 1);
  for (let n = 5; n <= rank; n++) {
    if (at(n) > 1) throw new NiftiError(name, `dim[${n}] = ${at(n)}: 5D+ (vector, tensor) images are not supported`);
  }
  const sizes = [at(1), at(2), at(3), at(4)];
  if (sizes.some((s) => !(s >= 1))) throw new NiftiError(name, `invalid dims [${d.slice(0, rank + 1).join(', ')}]`);
  return { dims: [at(1), at(2), at(3)], volumes: at(4) };
}

function chooseVolume(volumes: number, wanted: number | undefined, name: string): number {
  if (wanted === undefined) {
    if (volumes > 1) {
      throw new NiftiError(
        name,
        `holds ${volumes} volumes (dim[4] = ${volumes}); choose one, t in 0..${volumes - 1}: ` +
          `on the command line add #t=N to the file name (${name}#t=0), in code pass readNifti(…, { volume: N })`,
      );
    }
    return 0;
  }
  if (!Number.isInteger(wanted) || wanted < 0 || wanted >= volumes) {
    throw new NiftiError(name, `volume ${wanted} requested but the file holds ${volumes} (0..${volumes - 1})`);
  }
  return wanted;
}

function swapBytes(b: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let o = 0; o < b.length; o += size) {
    for (let x = 0, y = size - 1; x < y; x++, y--) {
      const tmp = b[o + x]!;
      b[o + x] = b[o + y]!;
      b[o + y] = tmp;
    }
  }
}

function applyScaling(data: VoxelArray, slope: number, inter: number): VoxelArray {
  if (!Number.isFinite(slope) || slope === 0 || (slope === 1 && inter === 0)) return data;
  const out = data instanceof Float64Array ? new Float64Array(data.length) : new Float32Array(data.length);
  const b = Number.isFinite(inter) ? inter : 0;
  for (let n = 0; n < data.length; n++) out[n] = data[n]! * slope + b;
  return out;
}

/**
 * pixdim[n] for n = 1..3, when the qform or "method 1" uses it: in (0, MAX_SPACING_MM]. An axis
 * beyond dim[0] (a 2D image's third) may hold 0, read as 1.
 */
function pixdim(header: NIFTI1, n: 1 | 2 | 3, name: string): number {
  const v = header.pixDims[n] ?? 0;
  if (n > (header.dims[0] ?? 0) && v === 0) return 1;
  if (!(v > 0 && v <= MAX_SPACING_MM)) {
    throw new NiftiError(name, `pixdim[${n}] = ${v}: a voxel size must be > 0 and ≤ ${MAX_SPACING_MM}`);
  }
  return v;
}

/** The 3×4 voxel → RAS (mm) affine chosen as documented on {@link readNifti}. */
function rasAffine(header: NIFTI1, file: Uint8Array, name: string): number[][] {
  if (header.sform_code > 0) {
    const view = new DataView(file.buffer, file.byteOffset, HEADER_BYTES);
    return [0, 1, 2].map((r) =>
      [0, 1, 2, 3].map((c) => view.getFloat32(SROW_OFFSET + (r * 4 + c) * 4, header.littleEndian)),
    );
  }
  const px = [pixdim(header, 1, name), pixdim(header, 2, name), pixdim(header, 3, name)] as const;
  if (header.qform_code > 0) {
    const q = [header.quatern_b, header.quatern_c, header.quatern_d];
    const norm2 = q[0]! ** 2 + q[1]! ** 2 + q[2]! ** 2;
    if (!(norm2 <= MAX_QUATERNION_NORM2)) {
      throw new NiftiError(
        name,
        `qform quaternion (quatern_b, c, d) = (${q.join(', ')}) is invalid: b² + c² + d² = ${norm2} exceeds 1`,
      );
    }
    const qfac = (header.pixDims[0] ?? 1) < 0 ? -1 : 1;
    return header
      .convertNiftiQFormToNiftiSForm(q[0]!, q[1]!, q[2]!, header.qoffset_x, header.qoffset_y, header.qoffset_z, px[0], px[1], px[2], qfac)
      .slice(0, 3);
  }
  return [
    [px[0], 0, 0, 0],
    [0, px[1], 0, 0],
    [0, 0, px[2], 0],
  ];
}

function geometry(header: NIFTI1, file: Uint8Array, name: string): { spacing: Vec3; direction: Direction; origin: Vec3 } {
  const a = rasAffine(header, file, name);
  const which = header.sform_code > 0 ? 'sform (srow_x/y/z)' : header.qform_code > 0 ? 'qform (quatern_*, qoffset_*)' : 'pixdim';
  if (a.some((row) => row.some((x) => !Number.isFinite(x)))) {
    throw new NiftiError(name, `the ${which} affine has a non-finite entry: [${a.map((r) => r.join(', ')).join('; ')}]`);
  }
  const unit = MM_PER_UNIT[header.xyzt_units & 7] ?? 1;
  const lps = [-unit, -unit, unit] as const;
  const at = (r: number, c: number): number => (a[r]?.[c] ?? 0) * lps[r as 0 | 1 | 2] + 0;
  const column = (c: number): Vec3 => [at(0, c), at(1, c), at(2, c)];
  const cols = [column(0), column(1), column(2)] as const;
  const spacing = cols.map(norm) as unknown as Vec3;
  if (spacing.some((s) => !(s > 0) || !(s <= MAX_SPACING_MM))) {
    throw new NiftiError(name, `degenerate affine (${which}): voxel sizes [${spacing.join(', ')}] mm must be > 0 and ≤ ${MAX_SPACING_MM}`);
  }
  const origin = column(3);
  if (origin.some((x) => Math.abs(x) > MAX_POSITION_MM)) {
    throw new NiftiError(name, `the ${which} origin [${origin.join(', ')}] mm lies beyond ±${MAX_POSITION_MM} mm`);
  }
  const unitCol = (c: 0 | 1 | 2): Vec3 => cols[c].map((x) => x / spacing[c] + 0) as unknown as Vec3;
  return {
    spacing,
    direction: [unitCol(0), unitCol(1), unitCol(2)],
    origin,
  };
}
