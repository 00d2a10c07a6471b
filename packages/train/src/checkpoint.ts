import type { NamedArray } from './bundle';

/** Everything needed to continue a run exactly: weights, optimiser slots, step, settings. */
export interface Checkpoint {
  readonly step: number;
  /** The run's settings; resuming with different ones is refused. */
  readonly config: unknown;
  readonly extra: Readonly<Record<string, unknown>>;
  /** Every model variable (trainable and batch-norm statistics). */
  readonly variables: readonly NamedArray[];
  /** Optimiser slots, named `<variable>#<slot index>`. */
  readonly optimizer: { readonly kind: 'adam' | 'sgd'; readonly step: number; readonly arrays: readonly NamedArray[] };
}

/** Where checkpoints go: files in Node (train/node), IndexedDB or memory in a browser. */
export interface CheckpointStore {
  save(c: Checkpoint): Promise<string>;
  load(): Promise<Checkpoint | undefined>;
}

/** A store in memory (tests, and browser sessions that need no persistence). */
export class MemoryCheckpointStore implements CheckpointStore {
  #last: Checkpoint | undefined;
  async save(c: Checkpoint): Promise<string> {
    this.#last = structuredClone(c);
    return 'memory';
  }
  async load(): Promise<Checkpoint | undefined> {
    return this.#last && structuredClone(this.#last);
  }
}
