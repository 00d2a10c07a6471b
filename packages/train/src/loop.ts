import * as tf from '@tensorflow/tfjs-core';
import type { PreparedVolume } from '@tomosort/pretext';
import { mixSeed, mulberry32 } from '@tomosort/random';
import { onReplicas } from '@tomosort/replicas';
import type { ReplicaGroup } from '@tomosort/replicas';
import type { HuWindow } from '@tomosort/volume';
import type { NamedArray } from './bundle';
import { TrainError } from './errors';
import type { Checkpoint, CheckpointStore } from './checkpoint';
import type { TrainEvent } from './events';
import { methodTask } from './methods';
import type { MethodConfig, TaskMethodConfig, TrainTask } from './methods';
import type { TrainableModel } from './model';
import { Optimizer, clipByGlobalNorm } from './optimizer';
import type { OptimizerConfig } from './optimizer';
import { learningRate } from './schedule';
import type { Schedule } from './schedule';

/** Settings of one run. Everything that changes the result is here, so a resume can check it. */
export interface TrainConfig {
  /** A pre-training method (batches from `volumes`) or a run that brings its own `task`. */
  readonly method: MethodConfig | TaskMethodConfig;
  readonly steps: number;
  readonly learningRate: number;
  readonly optimizer: OptimizerConfig;
  readonly schedule: Schedule;
  /** Largest global gradient norm (no clipping when absent). */
  readonly clipNorm?: number;
  readonly window: HuWindow;
  /** Batch b is drawn from a generator seeded by (seed, b): the same at any resume point. */
  readonly seed: number;
  /** Save a checkpoint every this many steps (and at the end / on cancel). 0 = only at the end. */
  readonly checkpointEvery: number;
}

export interface TrainOptions {
  readonly model: TrainableModel;
  /** Volumes the pre-training methods draw from (not used with a `task`). */
  readonly volumes?: readonly PreparedVolume[];
  /** The batches and loss of a `{ kind: 'task' }` method. */
  readonly task?: TrainTask;
  readonly config: TrainConfig;
  readonly store?: CheckpointStore;
  /** Continue from the store's checkpoint when there is one. */
  readonly resume?: boolean;
  /** Stops after the current step (a checkpoint is saved first). */
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: TrainEvent) => void;
  /**
   * Read the loss and gradient norm back every this many steps (default 1). A readback waits for
   * the device to finish the step, so on a GPU every read leaves it idle while the next step is
   * recorded; with N > 1 the steps in between are queued back to back. Their `step` events come
   * together when read, each with the block's mean time; a non-finite loss stops the run when it
   * is read (up to N − 1 steps late). Results are the same for any N. An abort (`signal`) stops
   * recording at the next step; the steps already recorded are applied, read and reported, so a
   * caller that aborts from `onEvent` at step s may end up to N − 1 steps past s.
   */
  readonly readEvery?: number;
  /**
   * Train as one replica of a data-parallel group (CPU threads; see @tomosort/replicas): every
   * replica draws the same batch, computes its shard (`task.shard`), and the batch statistics,
   * the loss and the parameter gradients are summed across replicas, so each replica takes the
   * single-process step of the whole batch (equal within float rounding) and they stay
   * identical. Every replica must call `train` with the same model, settings and data; the
   * group's capacity must hold the trainable parameters. Give `store` to one replica only; a
   * cancel on any replica stops all of them at the same step.
   */
  readonly replicas?: ReplicaGroup;
}

export interface TrainResult {
  readonly status: 'finished' | 'cancelled';
  readonly step: number;
  readonly losses: readonly number[];
  readonly seconds: number;
}


async function snapshot(model: TrainableModel, opt: Optimizer, step: number, config: TrainConfig): Promise<Checkpoint> {
  const variables: NamedArray[] = [];
  for (const [name, v] of Object.entries(model.state)) variables.push({ name, shape: v.shape, values: (await v.data()) as Float32Array });
  const state = await opt.getState();
  const arrays: NamedArray[] = [];
  for (const [name, slots] of Object.entries(state.slots)) {
    slots.forEach((values, n) => arrays.push({ name: `${name}#${n}`, shape: [values.length], values }));
  }
  return { step, config, extra: {}, variables, optimizer: { kind: state.kind, step: state.step, arrays } };
}

function restore(model: TrainableModel, opt: Optimizer, c: Checkpoint): void {
  for (const a of c.variables) {
    const v = model.state[a.name];
    if (!v) throw new TrainError(`checkpoint variable ${a.name} does not exist in this model`);
    if (v.size !== a.values.length) throw new TrainError(`checkpoint variable ${a.name} holds ${a.values.length} values, the model's ${v.size}`);
    v.assign(tf.tensor(a.values, v.shape, 'float32'));
  }
  const slots: Record<string, Float32Array[]> = {};
  for (const a of c.optimizer.arrays) {
    const hash = a.name.lastIndexOf('#');
    const name = a.name.slice(0, hash);
    (slots[name] ??= [])[Number(a.name.slice(hash + 1))] = a.values;
  }
  opt.setState({ kind: c.optimizer.kind, step: c.optimizer.step, slots }, model.trainable);
}

function taskOf(opts: TrainOptions): TrainTask {
  const { method } = opts.config;
  if (method.kind === 'task') {
    if (!opts.task) throw new TrainError(`method "${method.name}" needs its task`);
    return opts.task;
  }
  if (opts.task) throw new TrainError(`a task was given for the ${method.kind} method, which draws its own batches`);
  if (!opts.volumes || opts.volumes.length === 0) throw new TrainError(`the ${method.kind} method needs at least one volume`);
  return methodTask(method, opts.volumes, opts.config.window) as TrainTask;
}

/** Whether to stop before the next step: any replica's signal stops every replica (one sum, so all decide alike). */
function replicaStop(group: ReplicaGroup, signal: AbortSignal | undefined): boolean {
  return group.sum(Float32Array.of(signal?.aborted ? 1 : 0))[0]! > 0;
}

/** Σ over replicas of each gradient, as one sum (one barrier); a variable with no gradient here has none on any replica. */
function sumGradients(group: ReplicaGroup, grads: readonly (tf.Tensor | undefined)[]): (tf.Tensor | undefined)[] {
  const present = grads.filter((g): g is tf.Tensor => g !== undefined);
  const total = present.reduce((n, g) => n + g.size, 0);
  if (total > group.capacity) throw new TrainError(`the model's ${total} trainable values exceed the replica group's capacity of ${group.capacity}`);
  const flat = new Float32Array(total);
  let at = 0;
  for (const g of present) {
    flat.set(g.dataSync() as Float32Array, at);
    at += g.size;
  }
  group.sum(flat, flat);
  at = 0;
  return grads.map((g) => {
    if (!g) return undefined;
    const t = tf.tensor(flat.subarray(at, at + g.size), g.shape, 'float32');
    at += g.size;
    return t;
  });
}

const sameConfig = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Lets the event loop run (a macrotask turn): `await data()` settles on microtasks on the cpu and
 * wasm backends, so without this a Web Worker never sees its Cancel message until the run ends.
 * setImmediate in Node; a MessageChannel elsewhere (no 4 ms clamp, unlike nested setTimeout).
 */
function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    // The DOM's port (this package's Node typings describe worker_threads' instead).
    const port = channel.port1 as unknown as { onmessage: (() => void) | null; close(): void };
    port.onmessage = () => {
      port.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * Trains `model` with the configured method. One step: draw a batch (seeded by step), loss and
 * gradients (tf.variableGrads), optional clipping, the scheduled learning rate, an optimiser
 * update. Tensors are disposed every step. Checkpoints are saved every `checkpointEvery`
 * steps, at the end and on cancellation; with `resume`, a run continues from the last one and
 * ends with the same weights as an uninterrupted run.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { model, config, store } = opts;
  const emit = opts.onEvent ?? (() => {});
  if (!Number.isInteger(config.steps) || config.steps < 1) throw new TrainError(`steps must be a positive integer, got ${config.steps}`);
  const task = taskOf(opts);
  const replicas = opts.replicas !== undefined && opts.replicas.size > 1 ? opts.replicas : undefined;
  if (replicas && task.slicesPerStep < replicas.size) throw new TrainError(`${replicas.size} replicas need at least as many images a step, the task has ${task.slicesPerStep}`);
  if (replicas && !task.shard) throw new TrainError(`the ${config.method.kind === 'task' ? config.method.name : config.method.kind} task cannot be split across replicas (it has no shard)`);
  const opt = new Optimizer(config.optimizer);
  let start = 0;
  if (opts.resume && store) {
    const c = await store.load();
    if (c) {
      if (!sameConfig(c.config, config)) {
        throw new TrainError('the checkpoint was made with different settings; resume with the same options, or start a new output folder');
      }
      restore(model, opt, c);
      start = c.step;
    }
  }
  emit({ type: 'start', backend: tf.getBackend(), fromStep: start, steps: config.steps, resumed: start > 0 });
  const t0 = performance.now();
  const losses: number[] = [];
  const perStep = task.slicesPerStep;
  const recent: number[] = [];
  let step = start;
  let status: TrainResult['status'] = 'finished';
  const save = async () => {
    if (!store) return;
    const where = await store.save(await snapshot(model, opt, step, config));
    emit({ type: 'checkpoint', step, where });
  };
  const vars = model.trainable;
  const varList = Object.values(vars);
  const nameOf = new Map(Object.entries(vars).map(([n, v]) => [v.name, n]));
  const readEvery = opts.readEvery ?? 1;
  if (!Number.isInteger(readEvery) || readEvery < 1) throw new TrainError(`readEvery must be a positive integer, got ${readEvery}`);
  /** Steps recorded but not read back yet: [loss, gradient norm] of each, and its learning rate; a block is read back as one buffer. */
  let pending: { stats: tf.Tensor; lr: number }[] = [];
  let blockStart = performance.now();
  const readBack = async () => {
    if (pending.length === 0) return;
    const block = pending;
    pending = [];
    let values: Float32Array[];
    try {
      // One readback for the whole block: each read waits for the GPU queue.
      const joined = block.length === 1 ? block[0]!.stats : tf.stack(block.map((p) => p.stats));
      try {
        const flat = (await joined.data()) as Float32Array;
        values = block.map((_, i) => flat.subarray(2 * i, 2 * i + 2));
      } finally {
        if (joined !== block[0]!.stats) joined.dispose();
      }
    } finally {
      for (const p of block) p.stats.dispose();
    }
    const ms = (performance.now() - blockStart) / block.length;
    blockStart = performance.now();
    for (let i = 0; i < block.length; i++) {
      step += 1;
      const l = values[i]![0]!;
      if (!Number.isFinite(l)) throw new TrainError(`loss became ${l} at step ${step}; lower the learning rate or enable clipping`);
      losses.push(l);
      recent.push(ms);
      if (recent.length > 20) recent.shift();
      const avg = recent.reduce((a, x) => a + x, 0) / recent.length;
      const mem = tf.memory();
      emit({
        type: 'step',
        step,
        steps: config.steps,
        loss: l,
        lr: block[i]!.lr,
        gradNorm: values[i]![1]!,
        ms,
        slicesPerSecond: (perStep * 1000) / avg,
        etaSeconds: ((config.steps - step) * avg) / 1000,
        numTensors: mem.numTensors,
        numBytes: mem.numBytes,
      });
    }
  };
  try {
    while (step + pending.length < config.steps) {
      await yieldToEventLoop();
      if (replicas ? replicaStop(replicas, opts.signal) : opts.signal?.aborted) {
        status = 'cancelled';
        break;
      }
      if (pending.length === 0) blockStart = performance.now();
      const recorded = step + pending.length;
      const batch = task.draw(mulberry32(mixSeed(config.seed, recorded)));
      const lr = learningRate(config.learningRate, config.schedule, recorded, config.steps);
      const stats = onReplicas(replicas, () => tf.tidy(() => {
        // On replicas each minimises (whole-batch loss) / replicas over its shard; the sums of their gradients are the whole batch's.
        const { value, grads } = tf.variableGrads(() => (replicas ? tf.div(task.loss(model, task.shard!(batch, replicas.rank, replicas.size)), replicas.size) : task.loss(model, batch)), varList);
        const named: Record<string, tf.Tensor> = {};
        const summed = replicas ? sumGradients(replicas, varList.map((v) => grads[v.name]!)) : undefined;
        varList.forEach((v, i) => {
          const g = summed ? summed[i]! : grads[v.name];
          if (g) named[nameOf.get(v.name) ?? v.name] = g;
        });
        const clipped = config.clipNorm ? clipByGlobalNorm(named, config.clipNorm) : { grads: named, norm: tf.scalar(0) };
        opt.apply(vars, clipped.grads, lr);
        return tf.stack([replicas ? tf.mul(value, replicas.size) : value, clipped.norm]);
      }));
      pending.push({ stats, lr });
      const next = step + pending.length;
      const checkpointDue = config.checkpointEvery > 0 && next % config.checkpointEvery === 0 && next < config.steps;
      if (pending.length >= readEvery || next >= config.steps || checkpointDue) await readBack();
      if (checkpointDue) await save();
    }
    await readBack();
  } finally {
    // A step that threw (or a readback that failed) leaves the queued steps' buffers behind.
    for (const p of pending) p.stats.dispose();
    pending = [];
  }
  await save();
  const seconds = (performance.now() - t0) / 1000;
  opt.dispose();
  emit({ type: 'done', step, status, seconds });
  return { status, step, losses, seconds };
}
