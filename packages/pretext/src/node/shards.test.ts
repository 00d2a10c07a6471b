import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_INTENSITY } from '@tomosort/volume';
import { prepareVolume } from '../prepare';
import { phantomSources } from '../sources';
import { decodeShard, encodeShard, listShards, readShardStore, shardKey, shardPath, writeShard } from './shards';
import type { ShardParams } from './shards';

const PARAMS: ShardParams = { plane: 'axial', size: 16, mmPerPixel: 22, window: { center: 40, width: 400 }, intensity: DEFAULT_INTENSITY };
const dirs: string[] = [];
const store = () => {
  const d = mkdtempSync(join(tmpdir(), 'tomosort-shards-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function prepared(index: number, params = PARAMS) {
  const src = phantomSources({ subjects: 1, first: index, size: 32 })[0]!;
  return { id: src.id, volume: prepareVolume(src.id, await src.load(), params) };
}

describe('prepared-volume shards', () => {
  it('round-trip a prepared volume exactly, with the same bytes every time', async () => {
    const { id, volume } = await prepared(0);
    const bytes = encodeShard(id, PARAMS, volume);
    expect(Buffer.from(encodeShard(id, PARAMS, volume)).equals(Buffer.from(bytes))).toBe(true);
    const back = decodeShard(bytes, 'x.tshard');
    expect(back.header).toMatchObject({ sourceId: id, slices: volume.slices, key: shardKey(id, PARAMS), modality: 'CT' });
    expect(back.volume.data).toEqual(volume.data);
    expect(back.volume).toMatchObject({ id, size: 16, slices: volume.slices, spacingMm: volume.spacingMm, firstMm: volume.firstMm, plane: 'axial', mmPerPixel: 22 });
  });

  it('are named by source and every preparation parameter', () => {
    const k = shardKey('pacs:1.2.3', PARAMS);
    expect(k).toMatch(/^[0-9a-f]{32}$/);
    expect(shardKey('pacs:1.2.3', { ...PARAMS })).toBe(k);
    const variants: ShardParams[] = [
      { ...PARAMS, plane: 'coronal' },
      { ...PARAMS, size: 32 },
      { ...PARAMS, mmPerPixel: 2.5 },
      { ...PARAMS, window: { center: 40, width: 350 } },
      { ...PARAMS, intensity: { kind: 'modality', percentiles: [1, 99] } },
    ];
    const keys = new Set([k, shardKey('pacs:1.2.4', PARAMS), ...variants.map((p) => shardKey('pacs:1.2.3', p))]);
    expect(keys.size).toBe(2 + variants.length);
  });

  it('refuse truncated and damaged files with the file named', async () => {
    const { id, volume } = await prepared(0);
    const bytes = encodeShard(id, PARAMS, volume);
    expect(() => decodeShard(bytes.subarray(0, bytes.length - 4), 'a.tshard')).toThrow(/^a\.tshard: holds \d+ voxel bytes, its header says \d+ .*truncated or damaged/);
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 3]! ^= 0x40;
    expect(() => decodeShard(flipped, 'b.tshard')).toThrow('b.tshard: the voxels do not match the shard\'s checksum (damaged)');
    expect(() => decodeShard(new TextEncoder().encode('hello world!'), 'c.tshard')).toThrow('c.tshard: not a tomosort shard');
  });

  it('are written once, atomically; temporaries of a killed writer are never listed and are cleaned up', async () => {
    const dir = store();
    const { id, volume } = await prepared(1);
    const key = shardKey(id, PARAMS);
    // What a writer killed mid-write leaves: a partial temporary.
    writeFileSync(join(dir, `.${key}.99999.deadbeef.tmp`), Buffer.from(encodeShard(id, PARAMS, volume)).subarray(0, 100));
    expect(listShards(dir)).toEqual([]);
    expect(writeShard(dir, id, PARAMS, volume)).toEqual({ key, written: true });
    expect(readdirSync(dir)).toEqual([`${key}.tshard`]);
    const first = readFileSync(shardPath(dir, key));
    expect(writeShard(dir, id, PARAMS, volume)).toEqual({ key, written: false });
    expect(readFileSync(shardPath(dir, key)).equals(first)).toBe(true);
  });

  it('a store reads back in source order and refuses shards prepared differently', async () => {
    const dir = store();
    const a = await prepared(2);
    const b = await prepared(0);
    writeShard(dir, a.id, PARAMS, a.volume);
    writeShard(dir, b.id, PARAMS, b.volume);
    const read = readShardStore(dir);
    expect(read.params).toEqual(PARAMS);
    expect(read.volumes.map((v) => v.id)).toEqual([b.id, a.id]);
    const other = { ...PARAMS, size: 8 };
    const c = await prepared(3, other);
    writeShard(dir, c.id, other, c.volume);
    expect(() => readShardStore(dir)).toThrow(/shards prepared differently \(axial (16|8)² .*keep one preparation per store/);
    expect(() => readShardStore(store())).toThrow(/holds no shards \(run `tomosort prepare --out/);
  });
});
