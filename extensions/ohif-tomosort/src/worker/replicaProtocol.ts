import type { ModelSpec } from '@tomosort/models';
import type { ReplicaShared } from '@tomosort/replicas';
import type { FinetuneConfig, FinetuneOptions } from '@tomosort/segment';

/** The replica helper's bundle, served beside worker.mjs. */
export const REPLICA_BUNDLE = 'replica.mjs';

/** What the training worker sends a replica helper: one fine-tuning to take part in. */
export interface ReplicaJob {
  readonly type: 'replica';
  readonly shared: ReplicaShared;
  readonly rank: number;
  /** Where tfjs' .wasm binaries are served (the helper runs wasm, one thread). */
  readonly wasmPaths: string;
  readonly spec: ModelSpec;
  /** Every variable of the model (trainable and statistics) as it starts: replicas start equal. */
  readonly weights: Readonly<Record<string, { readonly shape: readonly number[]; readonly values: Float32Array }>>;
  /** The annotated slices (2D), or the annotated volumes (3D: `config.depth` set). */
  readonly data: FinetuneOptions['data'];
  readonly config: FinetuneConfig;
}

/**
 * A helper's answers: ready (backend up, model built: rank 0 starts only then, since a worker
 * blocked at a sum cannot start its own helpers), then the fine-tuning ended (finished or
 * cancelled with the group), or it failed.
 */
export type ReplicaReply = { readonly type: 'replicaReady' } | { readonly type: 'replicaDone'; readonly waitedMs: number } | { readonly type: 'replicaError'; readonly message: string };
