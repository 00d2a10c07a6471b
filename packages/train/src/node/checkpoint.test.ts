import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../checkpoint';
import { FileCheckpointStore } from './checkpoint';

const dir = mkdtempSync(join(tmpdir(), 'tomosort-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ckpt = (step: number): Checkpoint => ({
  step,
  config: { lr: 0.1 },
  extra: {},
  variables: [{ name: 'w', shape: [2, 2], values: Float32Array.from([1, 2, 3, step]) }],
  optimizer: { kind: 'adam', step, arrays: [{ name: 'w#0', shape: [4], values: Float32Array.from([0.5, 0.25, 0, -1]) }] },
});

describe('FileCheckpointStore', () => {
  it('saves and loads bit for bit, replacing the previous checkpoint, with no temp folders left', async () => {
    const store = new FileCheckpointStore(dir);
    expect(await store.load()).toBeUndefined();
    await store.save(ckpt(3));
    await store.save(ckpt(6));
    const back = await store.load();
    expect(back?.step).toBe(6);
    expect([...back!.variables[0]!.values]).toEqual([1, 2, 3, 6]);
    expect([...back!.optimizer.arrays[0]!.values]).toEqual([0.5, 0.25, 0, -1]);
    expect(readdirSync(dir)).toEqual(['checkpoint']);
  });

  it('a crash between the two renames still loads the previous checkpoint (checkpoint.old)', async () => {
    const store = new FileCheckpointStore(join(dir, 'crash'));
    await store.save(ckpt(4));
    const { renameSync } = await import('node:fs');
    renameSync(store.path, `${store.path}.old`);
    writeFileSync(join(dir, 'crash', 'checkpoint.tmp-1'), 'half written');
    expect(existsSync(store.path)).toBe(false);
    expect((await store.load())?.step).toBe(4);
  });
});
