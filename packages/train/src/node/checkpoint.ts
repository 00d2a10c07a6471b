import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { packBundle, unpackBundle } from '../bundle';
import type { NamedArray, TensorBundleIndex } from '../bundle';
import type { Checkpoint, CheckpointStore } from '../checkpoint';
import { TrainError } from '../errors';
import { syncDir } from '@tomosort/models/node';

const DIR = 'checkpoint';
const OLD = `${DIR}.old`;
const TMP_PREFIX = `${DIR}.tmp-`;

interface TrainerJson {
  step: number;
  config: unknown;
  extra: Record<string, unknown>;
  variables: TensorBundleIndex;
  optimizer: { kind: 'adam' | 'sgd'; step: number; index: TensorBundleIndex };
  /** sha256 of variables.bin and optimizer.bin (absent in checkpoints written before it existed). */
  sha256?: { variables: string; optimizer: string };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Writes a file and flushes it to the disk before returning. */
function writeDurably(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}


/**
 * Checkpoints in `<out>/checkpoint/`: trainer.json (step, config, optimizer index, checksums),
 * variables.bin and optimizer.bin, every file fsynced. Each save is written to a temp folder and
 * swapped in by rename; the previous checkpoint stays as `checkpoint.old`. So a process killed at
 * any moment leaves at least one whole checkpoint, and a checkpoint damaged later (a truncated or
 * altered file: checked against its sha256) is passed over for the previous one. Temp folders
 * of killed runs are removed on the next save or load.
 */
export class FileCheckpointStore implements CheckpointStore {
  /** What the last `load` passed over and why ("checkpoint: variables.bin is 12 bytes, …"). */
  notes: string[] = [];
  /**
   * Whether `checkpoint/` is known to load: true once this store wrote or loaded it, false when a
   * load passed over it; unknown (read it to find out) otherwise.
   */
  #currentGood: boolean | undefined;

  constructor(readonly outDir: string) {}

  get path(): string {
    return join(this.outDir, DIR);
  }

  /** Temp folders left by runs that were killed while saving. */
  #removeLeftovers(): void {
    if (!existsSync(this.outDir)) return;
    for (const name of readdirSync(this.outDir)) if (name.startsWith(TMP_PREFIX)) rmSync(join(this.outDir, name), { recursive: true, force: true });
  }

  async save(c: Checkpoint): Promise<string> {
    mkdirSync(this.outDir, { recursive: true });
    this.#removeLeftovers();
    const tmp = join(this.outDir, `${TMP_PREFIX}${process.pid}`);
    mkdirSync(tmp);
    const vars = packBundle(c.variables);
    const opt = packBundle(c.optimizer.arrays);
    writeDurably(join(tmp, 'variables.bin'), vars.data);
    writeDurably(join(tmp, 'optimizer.bin'), opt.data);
    const meta: TrainerJson = {
      step: c.step,
      config: c.config,
      extra: c.extra,
      variables: vars.index,
      optimizer: { kind: c.optimizer.kind, step: c.optimizer.step, index: opt.index },
      sha256: { variables: sha256(vars.data), optimizer: sha256(opt.data) },
    };
    writeDurably(join(tmp, 'trainer.json'), `${JSON.stringify(meta)}\n`);
    syncDir(tmp);
    const old = join(this.outDir, OLD);
    // Only rotate a checkpoint that loads: a damaged one must not push out the last good one.
    if (existsSync(this.path) && (this.#currentGood ?? this.#read(this.path).checkpoint !== undefined)) {
      rmSync(old, { recursive: true, force: true });
      renameSync(this.path, old);
    } else {
      rmSync(this.path, { recursive: true, force: true });
    }
    renameSync(tmp, this.path);
    syncDir(this.outDir);
    this.#currentGood = true;
    return this.path;
  }

  /** A checkpoint folder's contents, or why it cannot be used. */
  #read(dir: string): { checkpoint?: Checkpoint; why?: string } {
    const json = join(dir, 'trainer.json');
    if (!existsSync(json)) return { why: 'no trainer.json' };
    let meta: TrainerJson;
    try {
      meta = JSON.parse(readFileSync(json, 'utf8')) as TrainerJson;
    } catch (e) {
      return { why: `trainer.json is not valid JSON (${(e as Error).message})` };
    }
    if (!meta || typeof meta.step !== 'number' || !meta.variables || !meta.optimizer?.index) return { why: 'trainer.json lacks step, variables or optimizer' };
    const files: Record<'variables' | 'optimizer', Uint8Array> = { variables: new Uint8Array(), optimizer: new Uint8Array() };
    for (const part of ['variables', 'optimizer'] as const) {
      const path = join(dir, `${part}.bin`);
      if (!existsSync(path)) return { why: `${part}.bin is missing` };
      files[part] = readFileSync(path);
      const expected = meta.sha256?.[part];
      if (expected !== undefined && sha256(files[part]) !== expected) return { why: `${part}.bin (${files[part].length} bytes) does not match its checksum: damaged or truncated` };
    }
    try {
      const variables: NamedArray[] = unpackBundle(meta.variables, files.variables);
      const arrays = unpackBundle(meta.optimizer.index, files.optimizer);
      return { checkpoint: { step: meta.step, config: meta.config, extra: meta.extra ?? {}, variables, optimizer: { kind: meta.optimizer.kind, step: meta.optimizer.step, arrays } } };
    } catch (e) {
      return { why: (e as Error).message };
    }
  }

  /**
   * The newest usable checkpoint: `checkpoint/`, else `checkpoint.old/` (a damaged newer one is
   * passed over, and said so in {@link notes}); undefined when there is none at all.
   *
   * @throws TrainError when checkpoints exist but none can be used (naming each and why)
   */
  async load(): Promise<Checkpoint | undefined> {
    this.#removeLeftovers();
    this.notes = [];
    const problems: string[] = [];
    for (const name of [DIR, OLD]) {
      const dir = join(this.outDir, name);
      if (!existsSync(dir)) continue;
      const { checkpoint, why } = this.#read(dir);
      if (name === DIR) this.#currentGood = checkpoint !== undefined;
      if (checkpoint) {
        if (problems.length) this.notes.push(`passed over ${problems.join('; ')}; resuming from ${name} (step ${checkpoint.step})`);
        return checkpoint;
      }
      problems.push(`${join(this.outDir, name)}: ${why}`);
    }
    if (problems.length) throw new TrainError(`no usable checkpoint in ${this.outDir}: ${problems.join('; ')}. Start a new output folder, or delete the damaged checkpoint to start over`);
    return undefined;
  }
}
