/**
 * A replica group: `size` threads (Web Workers, worker_threads) that each train on a shard of the
 * same batch and meet at sums. The memory is one SharedArrayBuffer, so a sum costs a copy in, a
 * barrier and a read of every replica's slot — no messages.
 *
 * Every replica computes the sum itself, adding the slots in rank order, so all of them get the
 * same bits: replicas that start from the same weights stay identical without a broadcast.
 */

export class ReplicaError extends Error {
  override readonly name = 'ReplicaError';
}

/** What each replica receives (postMessage copies the handles, not the memory). */
export interface ReplicaShared {
  readonly size: number;
  /** Most values one sum may carry (e.g. the model's trainable parameters). */
  readonly capacity: number;
  /** Int32 control words: arrived, generation, failed. */
  readonly control: SharedArrayBuffer;
  /** Float32 slots: 2 sets (alternate sums) × size replicas × capacity. */
  readonly slots: SharedArrayBuffer;
}

const ARRIVED = 0;
const GENERATION = 1;
const FAILED = 2;

/**
 * How long a replica spins at a barrier before it sleeps (ms). Waking from Atomics.wait takes the
 * OS a scheduler round trip (~0.1–1 ms), and a step meets at ~45 exchanges: replicas that arrive
 * within this of each other never sleep.
 */
const SPIN_MS = 1;

/** Shared memory for a group of `size` replicas whose sums carry at most `capacity` values. */
export function createReplicaShared(size: number, capacity: number): ReplicaShared {
  if (!Number.isInteger(size) || size < 1) throw new ReplicaError(`a replica group needs a whole number of replicas ≥ 1, got ${size}`);
  if (!Number.isInteger(capacity) || capacity < 1) throw new ReplicaError(`a replica group's capacity is a whole number of values ≥ 1, got ${capacity}`);
  if (typeof SharedArrayBuffer === 'undefined') throw new ReplicaError('replicas need SharedArrayBuffer: in a browser the page must be cross-origin isolated (COOP/COEP)');
  return { size, capacity, control: new SharedArrayBuffer(3 * 4), slots: new SharedArrayBuffer(2 * size * capacity * 4) };
}

export interface ReplicaGroupOptions {
  /** A barrier that waits longer throws (a replica crashed or hung). Default 120 s. */
  readonly timeoutMs?: number;
}

/** One replica's handle on the group. */
export class ReplicaGroup {
  readonly size: number;
  readonly rank: number;
  readonly capacity: number;
  private readonly control: Int32Array;
  private readonly slots: Float32Array;
  private readonly timeoutMs: number;
  private sums = 0;
  private barriers = 0;
  /** Milliseconds this replica has spent waiting for the others at barriers (its idle time). */
  waitedMs = 0;

  constructor(shared: ReplicaShared, rank: number, options: ReplicaGroupOptions = {}) {
    if (!Number.isInteger(rank) || rank < 0 || rank >= shared.size) throw new ReplicaError(`rank ${rank} is outside a group of ${shared.size}`);
    this.size = shared.size;
    this.rank = rank;
    this.capacity = shared.capacity;
    this.control = new Int32Array(shared.control);
    this.slots = new Float32Array(shared.slots);
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  /** Tells every replica waiting (or about to wait) at a barrier that this one failed: they throw instead of hanging. */
  fail(): void {
    Atomics.store(this.control, FAILED, 1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
  }

  /** Waits until every replica has called it as often as this one. */
  barrier(): void {
    if (this.size === 1) return;
    this.barriers++;
    const c = this.control;
    const generation = Atomics.load(c, GENERATION);
    this.checkFailed();
    if (Atomics.add(c, ARRIVED, 1) === this.size - 1) {
      Atomics.store(c, ARRIVED, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return;
    }
    const t0 = performance.now();
    try {
      while (performance.now() - t0 < SPIN_MS) if (Atomics.load(c, GENERATION) !== generation) return this.checkFailed();
      const deadline = Date.now() + this.timeoutMs;
      while (Atomics.load(c, GENERATION) === generation) {
        const left = deadline - Date.now();
        if (left <= 0 || Atomics.wait(c, GENERATION, generation, left) === 'timed-out') {
          throw new ReplicaError(`replica ${this.rank}: the other replicas did not reach barrier ${this.barriers} within ${this.timeoutMs / 1000} s`);
        }
      }
      this.checkFailed();
    } finally {
      this.waitedMs += performance.now() - t0;
    }
  }

  /**
   * Σ over replicas of `values` (each replica passes its own, all of the same length), into `out`
   * (default a new array; may be `values`). Added in rank order, so every replica gets the same bits.
   */
  sum(values: Float32Array, out: Float32Array = new Float32Array(values.length)): Float32Array {
    if (out.length !== values.length) throw new ReplicaError(`sum: out holds ${out.length} values, the input ${values.length}`);
    const slot = this.exchange('sum', values);
    out.set(slot(0));
    for (let r = 1; r < this.size; r++) {
      const s = slot(r);
      for (let i = 0; i < s.length; i++) out[i]! += s[i]!;
    }
    return out;
  }

  /** Every replica's `values` (each passes its own, all of the same length), by rank: one barrier. */
  gather(values: Float32Array): Float32Array[] {
    const slot = this.exchange('gather', values);
    return Array.from({ length: this.size }, (_, r) => Float32Array.from(slot(r)));
  }

  /**
   * Writes `values` into this replica's slot and waits for the others; returns every replica's
   * slot by rank (views, read them before this replica's next exchange). Two sets of slots
   * alternate: a replica that runs ahead into the next exchange writes the other set, and cannot
   * reach this set again before every replica has passed the next barrier.
   */
  private exchange(what: string, values: Float32Array): (rank: number) => Float32Array {
    const n = values.length;
    if (n > this.capacity) throw new ReplicaError(`a ${what} of ${n} values exceeds the group's capacity of ${this.capacity}`);
    if (this.size === 1) return () => values;
    const set = (this.sums++ & 1) * this.size;
    const slot = (r: number) => this.slots.subarray((set + r) * this.capacity, (set + r) * this.capacity + n);
    slot(this.rank).set(values);
    this.barrier();
    return slot;
  }

  private checkFailed(): void {
    if (Atomics.load(this.control, FAILED) !== 0) throw new ReplicaError(`replica ${this.rank}: another replica failed; stopping`);
  }
}
