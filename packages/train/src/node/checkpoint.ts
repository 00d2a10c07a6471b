import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packBundle, unpackBundle } from '../bundle';
import type { NamedArray, TensorBundleIndex } from '../bundle';
import type { Checkpoint, CheckpointStore } from '../checkpoint';

const DIR = 'checkpoint';

/**
 * Checkpoints in `<out>/checkpoint/`: trainer.json (step, config, optimizer index),
 * variables.bin and optimizer.bin. Each save is written to a temp folder and swapped in by
 * rename, so a process killed at any moment leaves either the previous or the new checkpoint
 * whole (if it dies between the two renames, `checkpoint.old` is still read).
 */
export class FileCheckpointStore implements CheckpointStore {
  constructor(readonly outDir: string) {}

  get path(): string {
    return join(this.outDir, DIR);
  }

  async save(c: Checkpoint): Promise<string> {
    mkdirSync(this.outDir, { recursive: true });
    const tmp = join(this.outDir, `${DIR}.tmp-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    const vars = packBundle(c.variables);
    const opt = packBundle(c.optimizer.arrays);
    writeFileSync(join(tmp, 'variables.bin'), vars.data);
    writeFileSync(join(tmp, 'optimizer.bin'), opt.data);
    const meta = { step: c.step, config: c.config, extra: c.extra, variables: vars.index, optimizer: { kind: c.optimizer.kind, step: c.optimizer.step, index: opt.index } };
    writeFileSync(join(tmp, 'trainer.json'), `${JSON.stringify(meta)}\n`);
    const old = join(this.outDir, `${DIR}.old`);
    rmSync(old, { recursive: true, force: true });
    if (existsSync(this.path)) renameSync(this.path, old);
    renameSync(tmp, this.path);
    rmSync(old, { recursive: true, force: true });
    return this.path;
  }

  async load(): Promise<Checkpoint | undefined> {
    const dir = existsSync(join(this.path, 'trainer.json')) ? this.path : join(this.outDir, `${DIR}.old`);
    if (!existsSync(join(dir, 'trainer.json'))) return undefined;
    const meta = JSON.parse(readFileSync(join(dir, 'trainer.json'), 'utf8')) as {
      step: number;
      config: unknown;
      extra: Record<string, unknown>;
      variables: TensorBundleIndex;
      optimizer: { kind: 'adam' | 'sgd'; step: number; index: TensorBundleIndex };
    };
    const variables: NamedArray[] = unpackBundle(meta.variables, readFileSync(join(dir, 'variables.bin')));
    const arrays = unpackBundle(meta.optimizer.index, readFileSync(join(dir, 'optimizer.bin')));
    return {
      step: meta.step,
      config: meta.config,
      extra: meta.extra ?? {},
      variables,
      optimizer: { kind: meta.optimizer.kind, step: meta.optimizer.step, arrays },
    };
  }
}
