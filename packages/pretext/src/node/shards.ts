import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { HuWindow, IntensityRule, Plane } from '@tomosort/volume';
import { PretextError } from '../errors';
import type { PreparedVolume } from '../prepare';

/**
 * How a volume was prepared: everything that decides a shard's voxels. Shards in one store that
 * share these can train one model.
 */
export interface ShardParams {
  readonly plane: Plane;
  readonly size: number;
  readonly mmPerPixel: number;
  readonly window: HuWindow;
  readonly intensity: IntensityRule;
}

/** A shard's header: the prepared volume's geometry, where it came from and how it was made. */
export interface ShardHeader {
  readonly format: typeof SHARD_FORMAT;
  readonly key: string;
  /** The source's id: `pacs:<SeriesInstanceUID>`, `phantom-003@0`, `sample:cranium`, a file path. */
  readonly sourceId: string;
  readonly params: ShardParams;
  readonly slices: number;
  readonly spacingMm: number;
  readonly firstMm: number;
  readonly modality: string;
  /** SHA-256 of the voxel bytes: a shard that does not match is refused, never trained on. */
  readonly sha256: string;
}

export const SHARD_FORMAT = 'tomosort-shard-1';
export const SHARD_EXTENSION = '.tshard';
const MAGIC = Buffer.from('TSHARD01', 'ascii');

/**
 * A shard's name in a store: SHA-256 over the source id, the preparation parameters and the
 * format, so the same series prepared the same way has one name on every machine, and any
 * change of parameters gives a new one.
 */
export function shardKey(sourceId: string, params: ShardParams): string {
  const p = params;
  const canonical = JSON.stringify([SHARD_FORMAT, sourceId, p.plane, p.size, p.mmPerPixel, p.window.center, p.window.width, p.intensity.kind, p.intensity.percentiles]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

export const shardPath = (store: string, key: string): string => join(store, `${key}${SHARD_EXTENSION}`);

/** Whether the store holds the shard `key` (a finished one: shards appear only when complete). */
export const hasShard = (store: string, key: string): boolean => existsSync(shardPath(store, key));

/**
 * Bytes of a shard: "TSHARD01", a little-endian uint32 header length, the header JSON (padded
 * with spaces to a multiple of 4), then slices × size × size float32 little-endian values.
 * Deterministic: the same volume and parameters give the same bytes.
 */
export function encodeShard(sourceId: string, params: ShardParams, v: PreparedVolume): Uint8Array {
  if (v.size !== params.size || v.plane !== params.plane) throw new PretextError(`${sourceId}: prepared at ${v.size}² ${v.plane}, not the shard's ${params.size}² ${params.plane}`);
  const voxels = Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);
  const header: ShardHeader = {
    format: SHARD_FORMAT,
    key: shardKey(sourceId, params),
    sourceId,
    params: { plane: params.plane, size: params.size, mmPerPixel: params.mmPerPixel, window: { center: params.window.center, width: params.window.width }, intensity: params.intensity },
    slices: v.slices,
    spacingMm: v.spacingMm,
    firstMm: v.firstMm,
    modality: v.modality,
    sha256: createHash('sha256').update(voxels).digest('hex'),
  };
  let json = JSON.stringify(header);
  json += ' '.repeat((4 - ((MAGIC.length + 4 + Buffer.byteLength(json)) % 4)) % 4);
  const head = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(head);
  head.writeUInt32LE(Buffer.byteLength(json), MAGIC.length);
  return Buffer.concat([head, Buffer.from(json), voxels]);
}

/** Reads a shard's bytes back, checking the magic, the header, the length and the checksum; `name` is for the errors. */
export function decodeShard(bytes: Uint8Array, name: string): { header: ShardHeader; volume: PreparedVolume } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new PretextError(`${name}: not a tomosort shard (no TSHARD01 signature)`);
  const headerLength = buf.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4 + headerLength;
  let header: ShardHeader;
  try {
    header = JSON.parse(buf.subarray(MAGIC.length + 4, start).toString('utf8')) as ShardHeader;
  } catch {
    throw new PretextError(`${name}: the shard's header is not valid JSON (truncated?)`);
  }
  if (header.format !== SHARD_FORMAT) throw new PretextError(`${name}: shard format "${String(header.format)}", this tomosort reads ${SHARD_FORMAT}`);
  const size = header.params.size;
  const expected = header.slices * size * size * 4;
  if (buf.length - start !== expected) throw new PretextError(`${name}: holds ${buf.length - start} voxel bytes, its header says ${expected} (${header.slices} × ${size}² float32): truncated or damaged`);
  const voxels = buf.subarray(start);
  if (createHash('sha256').update(voxels).digest('hex') !== header.sha256) throw new PretextError(`${name}: the voxels do not match the shard's checksum (damaged)`);
  const data = new Float32Array(header.slices * size * size);
  new Uint8Array(data.buffer).set(voxels);
  return {
    header,
    volume: {
      id: header.sourceId,
      size,
      slices: header.slices,
      data,
      spacingMm: header.spacingMm,
      firstMm: header.firstMm,
      plane: header.params.plane,
      mmPerPixel: header.params.mmPerPixel,
      modality: header.modality,
    },
  };
}

/**
 * Writes a shard into `store` atomically: a temporary file in the same folder, flushed to disk,
 * then renamed to its final name, so readers see a whole shard or none. Returns false when the
 * shard was already there (nothing written). Leftover temporaries of the same shard (a writer
 * killed mid-write) are removed.
 */
export function writeShard(store: string, sourceId: string, params: ShardParams, v: PreparedVolume): { key: string; written: boolean } {
  const key = shardKey(sourceId, params);
  const target = shardPath(store, key);
  if (existsSync(target)) return { key, written: false };
  mkdirSync(store, { recursive: true });
  const bytes = encodeShard(sourceId, params, v);
  const tmp = join(store, `.${key}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, target);
  for (const f of readdirSync(store)) if (f.startsWith(`.${key}.`) && f.endsWith('.tmp') && join(store, f) !== tmp) rmSync(join(store, f), { force: true });
  return { key, written: true };
}

/** The shards of a store (by name; temporaries and other files ignored). */
export function listShards(store: string): string[] {
  if (!existsSync(store)) throw new PretextError(`${store}: no such shard store`);
  return readdirSync(store)
    .filter((f) => f.endsWith(SHARD_EXTENSION) && !f.startsWith('.'))
    .sort()
    .map((f) => join(store, f));
}

/**
 * Every shard of a store, checked, in the order of their source ids (the same on every machine).
 * They must share one set of preparation parameters: a model trains at one scale.
 */
export function readShardStore(store: string): { params: ShardParams; volumes: PreparedVolume[] } {
  const files = listShards(store);
  if (files.length === 0) throw new PretextError(`${store}: the store holds no shards (run \`tomosort prepare --out ${store}\` first)`);
  const read = files.map((f) => decodeShard(readFileSync(f), f));
  const first = read[0]!.header;
  const differs = read.find((r) => JSON.stringify(r.header.params) !== JSON.stringify(first.params));
  if (differs) {
    throw new PretextError(
      `${store}: shards prepared differently (${describeParams(first.params)} in ${files[0]}, ${describeParams(differs.header.params)} in ${shardPath(store, differs.header.key)}): keep one preparation per store`,
    );
  }
  read.sort((a, b) => (a.header.sourceId < b.header.sourceId ? -1 : a.header.sourceId > b.header.sourceId ? 1 : 0));
  return { params: first.params, volumes: read.map((r) => r.volume) };
}

export const describeParams = (p: ShardParams): string =>
  `${p.plane} ${p.size}² at ${p.mmPerPixel} mm/pixel, window ${p.window.center}/${p.window.width}, non-CT percentiles ${p.intensity.percentiles.join('–')}`;
