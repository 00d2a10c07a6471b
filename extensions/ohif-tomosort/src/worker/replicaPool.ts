import type { Model } from '@tomosort/models';
import { ReplicaGroup, createReplicaShared } from '@tomosort/replicas';
import { finetune } from '@tomosort/segment';
import type { FinetuneOptions, FinetuneResult } from '@tomosort/segment';
import type { ReplicaJob, ReplicaReply } from './replicaProtocol';

/** How the training worker runs data-parallel fine-tuning (2D slices or 3D crops): `count` replicas in all (itself and count − 1 helpers). */
export interface ReplicaSettings {
  readonly count: number;
  /** The helper's script (replica.mjs beside worker.mjs). */
  readonly helperUrl: string;
  readonly wasmPaths: string;
}

/** The backend line of a job that ran on `count` replicas (1: the worker alone), e.g. "wasm (SIMD, 1 thread) × 2 replicas". */
export function replicasLabel(backend: string, count: number): string {
  return count > 1 ? `${backend} × ${count} replicas` : backend;
}

interface WorkerLike {
  postMessage(m: unknown): void;
  terminate(): void;
  onmessage: ((e: MessageEvent) => void) | null;
  onerror: ((e: ErrorEvent) => void) | null;
}

/**
 * `finetune` of a U-Net (2D, or 3D on crops) on `settings.count` replicas: this worker is rank 0 (its events,
 * signal and result are the run's), helpers started from `helperUrl` take the other ranks with
 * the same model, weights, data and settings. Every step is the whole batch's (see
 * @tomosort/replicas); a helper that fails stops the run with its message.
 */
export async function finetuneOnReplicas(model: Model, opts: FinetuneOptions, settings: ReplicaSettings): Promise<FinetuneResult & { readonly waitedMs: readonly number[] }> {
  const state = Object.entries(opts.model.state);
  const capacity = state.reduce((n, [, v]) => n + v.size, 0);
  const shared = createReplicaShared(settings.count, capacity);
  const weights = Object.fromEntries(state.map(([n, v]) => [n, { shape: v.shape, values: v.dataSync() as Float32Array }]));
  const group = new ReplicaGroup(shared, 0);
  const helpers: WorkerLike[] = [];
  try {
    const ready: Promise<void>[] = [];
    const replies = Array.from({ length: settings.count - 1 }, (_, i): Promise<number> => {
      const helper = new Worker(settings.helperUrl, { type: 'module', name: `tomosort replica ${i + 1}` }) as unknown as WorkerLike;
      helpers.push(helper);
      const job: ReplicaJob = { type: 'replica', shared, rank: i + 1, wasmPaths: settings.wasmPaths, spec: model.spec, weights, data: opts.data, config: opts.config };
      helper.postMessage(job);
      let started: () => void = () => {};
      ready.push(new Promise<void>((resolve) => (started = resolve)));
      return new Promise<number>((resolve, reject) => {
        helper.onmessage = (e: MessageEvent) => {
          const r = e.data as ReplicaReply;
          if (r.type === 'replicaReady') started();
          else if (r.type === 'replicaDone') resolve(r.waitedMs);
          else reject(new Error(`replica ${i + 1}: ${r.message}`));
        };
        helper.onerror = (e: ErrorEvent) => {
          group.fail();
          reject(new Error(`replica ${i + 1} could not start: ${e.message || 'the helper script failed to load'}`));
        };
      });
    });
    // A helper that fails makes this replica throw at its next sum; its own message says why.
    const failed = Promise.race(replies.map((r) => r.then(() => new Promise<never>(() => {}))));
    let result: FinetuneResult;
    // This worker blocks at every sum: its helpers must be running before the first one.
    await Promise.race([Promise.all(ready), failed]);
    try {
      result = await Promise.race([finetune({ ...opts, replicas: group }), failed]);
    } catch (e) {
      group.fail();
      const reason = await Promise.race([failed.catch((h: unknown) => h), new Promise((resolve) => setTimeout(() => resolve(undefined), 100))]);
      throw reason instanceof Error ? reason : e;
    }
    const waited = await Promise.all(replies);
    return { ...result, waitedMs: [group.waitedMs, ...waited] };
  } finally {
    for (const h of helpers) h.terminate();
  }
}
