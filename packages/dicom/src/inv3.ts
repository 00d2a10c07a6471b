import { parseTar } from 'nanotar';
import plist from 'plist';
import type { PlistObject, PlistValue } from 'plist';
import type { Dims, Direction, Plane, Vec3, Volume, VolumeInit } from '@tomosort/volume';
import { PLANE_FRAMES, createVolume } from '@tomosort/volume';
import { Inv3Error } from './formatErrors';
import { gunzipFile, isGzip } from './gzip';
import { MAX_SPACING_MM } from './limits';

/** One segmentation mask of an InVesalius project, aligned voxel for voxel with the project's CT. */
export interface Inv3Mask {
  /** The mask's `index` in its plist (0, 1, …). */
  readonly index: number;
  readonly name: string;
  /** The [low, high] HU thresholds the mask was made with, when the plist records them. */
  readonly thresholdRange?: readonly [number, number];
  /** 1 inside, 0 outside; same dims and geometry as {@link Inv3Project.volume}; modality 'SEG'. */
  readonly volume: Volume<Uint8Array>;
}

/** A display window (HU). */
export interface Inv3Window {
  readonly center: number;
  readonly width: number;
}

/** The image content of an InVesalius 3 project file (.inv3). Surfaces and measurements are not read. */
export interface Inv3Project {
  /** main.plist `name` (often the study description). */
  readonly name: string;
  /** main.plist `modality`, e.g. 'CT'. */
  readonly modality: string;
  readonly volume: Volume<Int16Array>;
  readonly masks: readonly Inv3Mask[];
  /** main.plist `window_level` / `window_width`, when both are present. */
  readonly window?: Inv3Window;
}

/** InVesalius' `orientation` codes (constants.AXIAL / CORONAL / SAGITTAL) and the plane each stack is cut in. */
export const INV3_ORIENTATIONS: Readonly<Record<number, Plane>> = { 0: 'axial', 1: 'coronal', 2: 'sagittal' };

/** InVesalius treats a mask voxel as inside when its byte is above 127 (it writes 255 inside, 0 or 1 outside). */
const MASK_INSIDE_ABOVE = 127;

type Entries = ReadonlyMap<string, Uint8Array>;

/**
 * Reads an InVesalius 3 project: a gzip'd tar holding one folder with main.plist (XML plist),
 * matrix.dat (raw little-endian int16, numpy C order, `matrix.shape` = [slices, rows, cols]) and
 * mask_N.plist + mask_N.dat (uint8, shape [slices + 1, rows + 1, cols + 1]: a one-voxel border
 * in front, used by InVesalius for bookkeeping; the mask aligned with the matrix is [1:, 1:, 1:]).
 *
 * Geometry: dims = [cols, rows, slices]; spacing = main.plist `spacing` (col, row, slice);
 * direction = PLANE_FRAMES of the plane named by `orientation` (0 axial, 1 coronal, 2 sagittal).
 * The project records no patient position, so the origin is chosen to put the centre of the
 * volume at patient (0, 0, 0).
 *
 * @param bytes the whole .inv3 file.
 * @param name file name, used in error messages.
 * @throws Inv3Error when the bytes are not a gzip'd tar, main.plist or a file it names is
 *   missing or malformed, a .dat size disagrees with its shape, `orientation` is unknown, or a
 *   `spacing` is ≤ 0 or beyond {@link MAX_SPACING_MM} mm.
 */
export function readInv3(bytes: Uint8Array, name: string): Inv3Project {
  const entries = untar(gunzip(bytes, name), name);
  const mainPath = [...entries.keys()].find((p) => p === 'main.plist' || p.endsWith('/main.plist'));
  if (mainPath === undefined) throw new Inv3Error(name, 'no main.plist in the archive: not an InVesalius 3 project');
  const dir = mainPath.slice(0, mainPath.length - 'main.plist'.length);
  const read = (file: string): Uint8Array => {
    const data = entries.get(dir + file);
    if (data === undefined) throw new Inv3Error(name, `${file} is named by the project but missing from the archive`);
    return data;
  };
  const main = new PlistReader(read('main.plist'), 'main.plist', name);

  const matrix = main.dict('matrix');
  const dtype = matrix.string('dtype');
  if (dtype !== 'int16') throw new Inv3Error(name, `main.plist matrix.dtype = '${dtype}': only int16 is supported`);
  const shape = matrix.shape('shape');
  const spacing = main.numbers('spacing', 3) as unknown as Vec3;
  if (!spacing.every((x) => x > 0 && x <= MAX_SPACING_MM)) {
    throw new Inv3Error(name, `main.plist spacing = [${spacing.join(', ')}]: each voxel size must be > 0 and ≤ ${MAX_SPACING_MM} mm`);
  }
  const orientation = main.number('orientation');
  const plane = INV3_ORIENTATIONS[orientation];
  if (plane === undefined) {
    throw new Inv3Error(name, `main.plist orientation = ${orientation} is not 0 (axial), 1 (coronal) or 2 (sagittal)`);
  }
  const modality = main.optionalString('modality') ?? 'OT';
  const dims: Dims = [shape[2], shape[1], shape[0]];
  const direction = PLANE_FRAMES[plane];
  const geometry = { dims, spacing, direction, origin: centredOrigin(dims, spacing, direction) } as const;

  const matrixFile = matrix.string('filename');
  const raw = read(matrixFile);
  const count = dims[0] * dims[1] * dims[2];
  expectSize(raw, count * 2, matrixFile, `shape [${shape.join(', ')}] int16`, name);
  const volume = createVolume({ ...geometry, data: int16LittleEndian(raw), modality });

  const masks = main.optionalDict('masks');
  const maskList = masks === undefined ? [] : masks.keys().map((key) => {
    const file = masks.string(key);
    return readMask(new PlistReader(read(file), file, name), read, shape, geometry, name);
  });

  const level = main.optionalNumber('window_level');
  const width = main.optionalNumber('window_width');
  return {
    name: main.string('name'),
    modality,
    volume,
    masks: maskList,
    ...(level !== undefined && width !== undefined ? { window: { center: level, width } } : {}),
  };
}

function readMask(
  plistFile: PlistReader,
  read: (file: string) => Uint8Array,
  shape: readonly [number, number, number],
  geometry: Omit<VolumeInit<Uint8Array>, 'data' | 'modality'>,
  name: string,
): Inv3Mask {
  const file = plistFile.string('mask_file');
  const maskShape = plistFile.shape('mask_shape');
  const [ns, nr, nc] = shape;
  if (maskShape[0] !== ns + 1 || maskShape[1] !== nr + 1 || maskShape[2] !== nc + 1) {
    throw new Inv3Error(
      name,
      `${plistFile.where} mask_shape [${maskShape.join(', ')}] is not the matrix shape plus a one-voxel border ([${ns + 1}, ${nr + 1}, ${nc + 1}])`,
    );
  }
  const raw = read(file);
  expectSize(raw, (ns + 1) * (nr + 1) * (nc + 1), file, `mask_shape [${maskShape.join(', ')}] uint8`, name);
  const out = new Uint8Array(ns * nr * nc);
  let o = 0;
  for (let s = 1; s <= ns; s++) {
    for (let r = 1; r <= nr; r++) {
      let src = 1 + (nc + 1) * (r + (nr + 1) * s);
      for (let c = 0; c < nc; c++, src++) out[o++] = raw[src]! > MASK_INSIDE_ABOVE ? 1 : 0;
    }
  }
  const range = plistFile.optionalNumbers('threshold_range', 2);
  return {
    index: plistFile.number('index'),
    name: plistFile.string('name'),
    ...(range ? { thresholdRange: [range[0]!, range[1]!] as const } : {}),
    volume: createVolume({ ...geometry, data: out, modality: 'SEG' }),
  };
}

/** The origin that puts the centre of the voxel grid at patient (0, 0, 0). */
function centredOrigin(dims: Dims, spacing: Vec3, direction: Direction): Vec3 {
  const o = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const half = ((dims[a]! - 1) / 2) * spacing[a]!;
    for (let r = 0; r < 3; r++) o[r] = o[r]! - half * direction[a]![r]!;
  }
  return [o[0]! + 0, o[1]! + 0, o[2]! + 0];
}

function gunzip(bytes: Uint8Array, name: string): Uint8Array {
  if (!isGzip(bytes)) throw new Inv3Error(name, 'not an InVesalius 3 project (not gzip-compressed)');
  return gunzipFile(bytes, name, Inv3Error);
}

function untar(tar: Uint8Array, name: string): Entries {
  const entries = new Map<string, Uint8Array>();
  try {
    for (const item of parseTar(tar)) {
      if (item.type === 'file' && item.data) entries.set(item.name.replace(/^\.\//, ''), item.data);
    }
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Inv3Error(name, `not a tar archive (${why})`, { cause: e });
  }
  return entries;
}

function expectSize(raw: Uint8Array, want: number, file: string, what: string, name: string): void {
  if (raw.length !== want) {
    throw new Inv3Error(name, `${file} holds ${raw.length} bytes but ${what} needs ${want}`);
  }
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function int16LittleEndian(raw: Uint8Array): Int16Array {
  const out = new Int16Array(raw.length / 2);
  if (HOST_LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(raw);
  } else {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
    for (let n = 0; n < out.length; n++) out[n] = view.getInt16(2 * n, true);
  }
  return out;
}

/** Typed access to a plist dict; every failure is an Inv3Error naming the file and key. */
class PlistReader {
  private readonly dictValue: PlistObject;
  constructor(
    source: Uint8Array | PlistObject,
    readonly where: string,
    private readonly file: string,
  ) {
    if (source instanceof Uint8Array) {
      const text = new TextDecoder('utf-8').decode(source);
      if (!/^\s*<[?!a-z]/i.test(text)) throw new Inv3Error(file, `${where} is not a valid XML plist (no XML markup)`);
      let parsed: PlistValue;
      try {
        parsed = plist.parse(text);
      } catch (e) {
        const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
        throw new Inv3Error(file, `${where} is not a valid XML plist (${why})`, { cause: e });
      }
      this.dictValue = this.asDict(parsed, where);
    } else {
      this.dictValue = source;
    }
  }

  keys(): string[] {
    return Object.keys(this.dictValue).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  }

  private fail(key: string, want: string, got: unknown): never {
    throw new Inv3Error(this.file, `${this.where} ${key}: expected ${want}, got ${JSON.stringify(got) ?? 'nothing'}`);
  }

  private asDict(v: PlistValue | undefined, key: string): PlistObject {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Date || ArrayBuffer.isView(v)) {
      return this.fail(key, 'a dict', v);
    }
    return v as PlistObject;
  }

  dict(key: string): PlistReader {
    return new PlistReader(this.asDict(this.dictValue[key], key), `${this.where} ${key}`, this.file);
  }
  optionalDict(key: string): PlistReader | undefined {
    return this.dictValue[key] === undefined ? undefined : this.dict(key);
  }
  string(key: string): string {
    const v = this.dictValue[key];
    return typeof v === 'string' ? v : this.fail(key, 'a string', v);
  }
  optionalString(key: string): string | undefined {
    return this.dictValue[key] === undefined ? undefined : this.string(key);
  }
  number(key: string): number {
    const v = this.dictValue[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : this.fail(key, 'a number', v);
  }
  optionalNumber(key: string): number | undefined {
    return this.dictValue[key] === undefined ? undefined : this.number(key);
  }
  numbers(key: string, length: number): number[] {
    const v = this.dictValue[key];
    if (!Array.isArray(v) || v.length !== length || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      return this.fail(key, `an array of ${length} numbers`, v);
    }
    return v as number[];
  }
  optionalNumbers(key: string, length: number): number[] | undefined {
    return this.dictValue[key] === undefined ? undefined : this.numbers(key, length);
  }
  /** A 3D numpy shape: three positive integers. */
  shape(key: string): [number, number, number] {
    const v = this.numbers(key, 3);
    if (!v.every((x) => Number.isInteger(x) && x > 0)) this.fail(key, 'three positive integers', v);
    return [v[0]!, v[1]!, v[2]!];
  }
}
