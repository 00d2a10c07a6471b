import * as tf from '@tensorflow/tfjs-core';

/** What the webgpu backend did between {@link countWebGpuWork} and `read()`. */
export interface WebGpuWork {
  /** Compute dispatches recorded (one per program run: tfjs records one dispatch per kernel program). */
  readonly dispatches: number;
  /**
   * Buffers read back from the GPU (`data()` / `dataSync()` of a tensor that lives there): each
   * waits for the queue. Reads of values still on the CPU (tfjs keeps small inputs there) are not counted.
   */
  readonly readbacks: number;
  /** Most bytes the backend's buffer manager held in GPU buffers, sampled at every dispatch and readback. */
  readonly peakGpuBytes: number;
}

interface Countable {
  readonly tensorMap: { get(dataId: unknown): { values?: unknown } | undefined };
  recordAndSubmit(...a: unknown[]): unknown;
  read(...a: unknown[]): Promise<unknown>;
  readSync(...a: unknown[]): unknown;
  memory(): { numBytesInGPU?: number };
}

/**
 * Counts the webgpu backend's dispatches and readbacks from now on (by wrapping the backend
 * instance's methods; SwiftShader counts the same as a GPU). `read()` gives the counts so far,
 * `stop()` unwraps (again: nothing). One counter at a time.
 *
 * @throws Error when the webgpu backend has not been started
 */
export function countWebGpuWork(): { read(): WebGpuWork; stop(): void } {
  const backend = tf.findBackend('webgpu') as unknown as Countable | null;
  if (!backend) throw new Error("countWebGpuWork: the webgpu backend is not started (initBackend('webgpu') first)");
  const own = backend as unknown as Record<string, unknown>;
  if (own['__tomosortCounting']) throw new Error('countWebGpuWork: a counter is already running');
  let dispatches = 0;
  let readbacks = 0;
  let peak = 0;
  const gpuBytes = () => backend.memory().numBytesInGPU ?? 0;
  const original = { recordAndSubmit: backend.recordAndSubmit, read: backend.read, readSync: backend.readSync };
  own['__tomosortCounting'] = true;
  backend.recordAndSubmit = function (this: Countable, ...a: unknown[]) {
    dispatches += 1;
    peak = Math.max(peak, gpuBytes());
    return original.recordAndSubmit.apply(this, a);
  };
  const onGpu = (dataId: unknown) => backend.tensorMap.get(dataId)?.values == null;
  backend.read = function (this: Countable, ...a: unknown[]) {
    if (onGpu(a[0])) readbacks += 1;
    peak = Math.max(peak, gpuBytes());
    return original.read.apply(this, a);
  };
  backend.readSync = function (this: Countable, ...a: unknown[]) {
    if (onGpu(a[0])) readbacks += 1;
    peak = Math.max(peak, gpuBytes());
    return original.readSync.apply(this, a);
  };
  return {
    read: () => {
      peak = Math.max(peak, gpuBytes());
      return { dispatches, readbacks, peakGpuBytes: peak };
    },
    stop: () => {
      if (!own['__tomosortCounting']) return;
      Object.assign(backend, original);
      delete own['__tomosortCounting'];
    },
  };
}

/**
 * One steady step's work as `counter` counts it: `run` trains 2 steps, reading the loss every step,
 * and calls `onStep(step)` after each step's readback; the count runs from step 1's readback to
 * the end (the second step, its readback, and whatever the run does after it).
 */
export async function secondStepWork(counter: { read(): WebGpuWork }, run: (onStep: (step: number) => void) => Promise<unknown>): Promise<{ dispatches: number; readbacks: number }> {
  let from: WebGpuWork | undefined;
  await run((step) => {
    if (step === 1) from = counter.read();
  });
  if (!from) throw new Error('secondStepWork: the run never reported step 1');
  const to = counter.read();
  return { dispatches: to.dispatches - from.dispatches, readbacks: to.readbacks - from.readbacks };
}
