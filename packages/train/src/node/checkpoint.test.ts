import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../checkpoint';
import { TrainError } from '../errors';
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
  it('saves and loads bit for bit, keeping the previous checkpoint as checkpoint.old, with no temp folders left', async () => {
    const store = new FileCheckpointStore(dir);
    expect(await store.load()).toBeUndefined();
    await store.save(ckpt(3));
    await store.save(ckpt(6));
    const back = await store.load();
    expect(back?.step).toBe(6);
    expect([...back!.variables[0]!.values]).toEqual([1, 2, 3, 6]);
    expect([...back!.optimizer.arrays[0]!.values]).toEqual([0.5, 0.25, 0, -1]);
    expect(readdirSync(dir).sort()).toEqual(['checkpoint', 'checkpoint.old']);
    expect(store.notes).toEqual([]);
  });

  it.each([
    ['variables.bin truncated', (d: string) => truncateSync(join(d, 'variables.bin'), 7), 'variables.bin (7 bytes) does not match its checksum'],
    ['optimizer.bin altered', (d: string) => writeFileSync(join(d, 'optimizer.bin'), Buffer.alloc(16, 1)), 'optimizer.bin (16 bytes) does not match its checksum'],
    ['trainer.json truncated', (d: string) => truncateSync(join(d, 'trainer.json'), 20), 'trainer.json is not valid JSON'],
    ['variables.bin deleted', (d: string) => rmSync(join(d, 'variables.bin')), 'variables.bin is missing'],
  ])('%s: resumes from the previous checkpoint and says which it passed over and why', async (_what, damage, why) => {
    const store = new FileCheckpointStore(mkdtempSync(join(dir, 'damaged-')));
    await store.save(ckpt(4));
    await store.save(ckpt(8));
    damage(store.path);
    expect((await store.load())?.step).toBe(4);
    expect(store.notes).toHaveLength(1);
    expect(store.notes[0]).toContain(why);
    expect(store.notes[0]).toMatch(/resuming from checkpoint\.old \(step 4\)$/);
    // The next save does not rotate the damaged one over the good one.
    await store.save(ckpt(10));
    expect((await store.load())?.step).toBe(10);
    expect((await new FileCheckpointStore(store.outDir).load())?.step).toBe(10);
    rmSync(store.path, { recursive: true });
    expect((await store.load())?.step).toBe(4);
  });

  it('every checkpoint damaged: a TrainError naming each and why, not a stack trace or a silent restart', async () => {
    const store = new FileCheckpointStore(mkdtempSync(join(dir, 'ruined-')));
    await store.save(ckpt(2));
    await store.save(ckpt(4));
    truncateSync(join(store.path, 'variables.bin'), 3);
    writeFileSync(join(`${store.path}.old`, 'trainer.json'), '{');
    const e = await store.load().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TrainError);
    expect((e as Error).message).toMatch(/^no usable checkpoint in .*: .*checkpoint: variables\.bin \(3 bytes\) does not match its checksum.*checkpoint\.old: trainer\.json is not valid JSON/);
  });

  it('removes the temp folders of runs killed while saving', async () => {
    const out = mkdtempSync(join(dir, 'leftovers-'));
    mkdirSync(join(out, 'checkpoint.tmp-99999'));
    writeFileSync(join(out, 'checkpoint.tmp-99999', 'variables.bin'), 'half');
    const store = new FileCheckpointStore(out);
    expect(await store.load()).toBeUndefined();
    expect(readdirSync(out)).toEqual([]);
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
