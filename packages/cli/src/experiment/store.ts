import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Model } from '@tomosort/models';
import { loadModelFromDir, saveModelToDir } from '@tomosort/models/node';
import type { ManifestInit } from '@tomosort/models';
import { FileCheckpointStore } from '@tomosort/train/node';
import { CliError } from '../errors';
import { writeFileDurable } from '../files';
import type { ExperimentConfig } from './run';

/** The commit this code runs from (`abc1234`, `+dirty` when the work tree has changes), or "unknown" outside a git checkout. */
export function codeCommit(): string {
  const cwd = dirname(fileURLToPath(import.meta.url));
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

/**
 * The settings a finished unit's result depends on, hashed: everything but the lists that only
 * say which units to run (methods, budgets, seeds, real cases) — those are part of each unit's key,
 * so adding a seed or a budget reuses what is done.
 */
export function configKey(config: ExperimentConfig): string {
  const { methods: _m, budgets: _b, seeds: _s, real: _r, ...rest } = config;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 12);
}

/** A stored unit: its value, the commit that computed it and how long it took. */
export interface Unit<T> {
  readonly value: T;
  readonly commit: string;
  readonly seconds: number;
}

/**
 * What a long experiment has finished, on disk, so that a stopped run (killed, the machine
 * rebooted, the session over) resumes where it was: `<out>/work/<configKey>/`, one durable JSON
 * file per unit (a fine-tuning's Dice, a method's scores), pre-training checkpoints and models.
 * A unit is written only once computed whole; a pre-training resumes from its last checkpoint
 * (bit-identical to an uninterrupted run, as `pretrain --resume`).
 */
export class ExperimentStore {
  readonly dir: string;
  readonly #commit = codeCommit();
  readonly #appending = new Set<string>();
  /** Units this object computed or read, by key: what a grid job hands back through the queue. */
  readonly #used = new Map<string, Unit<unknown>>();
  /** Logs (`key`.jsonl) this object read or appended to. */
  readonly #usedLogs = new Set<string>();

  readonly #readOnly: boolean;

  /**
   * `readOnly`: every unit must be stored already (the report of a grid the workers computed):
   * a missing one is an error naming it, never computed here.
   */
  constructor(out: string, config: ExperimentConfig, opts: { readOnly?: boolean } = {}) {
    this.dir = join(out, 'work', configKey(config));
    this.#readOnly = opts.readOnly ?? false;
  }

  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** Whether the unit `key` is stored. */
  has(key: string): boolean {
    return existsSync(`${this.#path(key)}.unit.json`);
  }

  /** The stored units' files. */
  #unitFiles(dir = this.dir): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? this.#unitFiles(join(dir, e.name)) : e.name.endsWith('.unit.json') ? [join(dir, e.name)] : []));
  }

  /** Units already stored. */
  count(): number {
    return this.#unitFiles().length;
  }

  /** Commits that computed the stored units (the report names them). */
  commits(): string[] {
    return [...new Set(this.#unitFiles().map((f) => (JSON.parse(readFileSync(f, 'utf8')) as Unit<unknown>).commit))].sort();
  }

  #path(key: string): string {
    if (!/^[\w.@-]+(\/[\w.@-]+)*$/.test(key)) throw new Error(`invalid unit key ${JSON.stringify(key)}`);
    return join(this.dir, key);
  }

  /** The stored value of `key`, or compute, store and return it. */
  async unit<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const file = `${this.#path(key)}.unit.json`;
    if (existsSync(file)) {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as Unit<T>;
      this.#used.set(key, stored);
      return stored.value;
    }
    if (this.#readOnly) throw new CliError(`${this.dir}: unit ${key} is missing (its job failed or has not run): the report is not written`);
    const t0 = performance.now();
    const value = await compute();
    const unit: Unit<T> = { value, commit: this.#commit, seconds: +((performance.now() - t0) / 1000).toFixed(1) };
    writeFileDurable(file, `${JSON.stringify(unit)}\n`);
    this.#used.set(key, unit);
    return value;
  }

  /**
   * The units this object computed or read, by key: a grid job returns them all, so a share whose
   * first attempt stored some before dying still hands every one of them back.
   */
  used(): Record<string, Unit<unknown>> {
    return Object.fromEntries(this.#used);
  }

  /**
   * Stores a unit computed elsewhere (a worker's, handed back through the queue) unless one is
   * stored already; written durably as `unit` writes its own. Returns whether it wrote.
   */
  put(key: string, unit: Unit<unknown>): boolean {
    if (this.has(key)) return false;
    writeFileDurable(`${this.#path(key)}.unit.json`, `${JSON.stringify(unit)}\n`);
    return true;
  }

  /** The logs this object read or appended to, whole, by key (a pre-training job hands its step log back with its units). */
  usedLogs(): Record<string, unknown[]> {
    return Object.fromEntries([...this.#usedLogs].map((k) => [k, this.lines(k)]));
  }

  /**
   * Stores a log read elsewhere unless this store's own is as long (a stale partial log from an
   * earlier run here is replaced by the finished one); written durably in one piece. Returns
   * whether it wrote.
   */
  putLog(key: string, lines: readonly unknown[]): boolean {
    const file = `${this.#path(key)}.jsonl`;
    if (lines.length === 0 || this.lines(key).length >= lines.length) return false;
    writeFileDurable(file, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    return true;
  }

  checkpoints(key: string): FileCheckpointStore {
    return new FileCheckpointStore(this.#path(key));
  }

  /** One JSON line appended to `key`.jsonl (a log that survives the process). */
  append(key: string, value: unknown): void {
    const file = `${this.#path(key)}.jsonl`;
    this.#usedLogs.add(key);
    if (!this.#appending.has(file)) {
      mkdirSync(dirname(file), { recursive: true });
      // A line torn by a killed process: end it, so the next line stays whole.
      if (existsSync(file) && !readFileSync(file, 'utf8').endsWith('\n')) appendFileSync(file, '\n');
      this.#appending.add(file);
    }
    appendFileSync(file, `${JSON.stringify(value)}\n`);
  }

  /** The lines of `key`.jsonl; a line torn by a killed process is skipped. */
  lines<T>(key: string): T[] {
    const file = `${this.#path(key)}.jsonl`;
    this.#usedLogs.add(key);
    if (!existsSync(file)) return [];
    const out: T[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as T);
      } catch {
        // torn: its step is logged again after the resume
      }
    }
    return out;
  }

  async saveModel(key: string, model: Model, init: ManifestInit): Promise<void> {
    await saveModelToDir(model, init, this.#path(key));
  }

  async loadModel(key: string): Promise<Model | undefined> {
    const dir = this.#path(key);
    return existsSync(join(dir, 'model.json')) ? (await loadModelFromDir(dir)).model : undefined;
  }
}
