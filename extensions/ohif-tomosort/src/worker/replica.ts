import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tomosort/backend';
import { createModel } from '@tomosort/models';
import { ReplicaGroup } from '@tomosort/replicas';
import { finetune } from '@tomosort/segment';
import { asTrainable } from '@tomosort/train';
import { plainError } from './plainError';
import type { ReplicaJob, ReplicaReply } from './replicaProtocol';

/**
 * A replica helper: a Web Worker the training worker starts for data-parallel fine-tuning. It
 * builds the same model from the same weights, trains its shard of every batch on single-threaded
 * wasm and meets the others at the sums in shared memory; the training worker keeps the result.
 */
const scope = self as unknown as { postMessage(m: ReplicaReply): void; onmessage: ((e: MessageEvent) => void) | null };

async function run(job: ReplicaJob): Promise<number> {
  await initBackend('wasm', { wasmPaths: job.wasmPaths, wasmThreads: 1 });
  const model = createModel(job.spec, { initialise: false });
  try {
    tf.tidy(() => model.params.assign(Object.fromEntries(Object.entries(job.weights).map(([n, w]) => [n, tf.tensor(w.values, [...w.shape], 'float32')]))));
    scope.postMessage({ type: 'replicaReady' });
    const group = new ReplicaGroup(job.shared, job.rank);
    await finetune({ model: asTrainable(model), data: job.data, config: job.config, replicas: group });
    return group.waitedMs;
  } finally {
    model.dispose();
  }
}

scope.onmessage = (event: MessageEvent) => {
  const job = event.data as ReplicaJob;
  run(job).then(
    (waitedMs) => scope.postMessage({ type: 'replicaDone', waitedMs }),
    (e: unknown) => {
      // The others must not wait at a sum this replica will never reach.
      new ReplicaGroup(job.shared, job.rank).fail();
      scope.postMessage({ type: 'replicaError', message: plainError(e) });
    },
  );
};
