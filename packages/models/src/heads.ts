import * as tf from '@tensorflow/tfjs-core';
import { SpecError } from './errors';
import { BatchNorm, Linear } from './layers';
import type { ApplyOptions } from './layers';
import type { Params } from './params';

/**
 * Slice-score head: the encoder's pooled vector `[N, C]` → linear → `[N, 1]`, one scalar per
 * slice (the SortingLoss pretext ranks slices by it). Variables `head/fc/w` `[C, 1]`, `head/fc/b` `[1]`.
 */
export class ScoreHead {
  readonly #fc: Linear;
  constructor(params: Params, inFeatures: number, prefix = 'head') {
    this.#fc = new Linear(params, `${prefix}/fc`, inFeatures, 1);
  }
  apply(pooled: tf.Tensor2D): tf.Tensor2D {
    return this.#fc.apply(pooled);
  }
}

/** Sizes of a {@link ProjectionHead}. */
export interface ProjectionHeadSpec {
  /** Width of the hidden layer. */
  readonly hidden: number;
  /** Output (embedding) dimension. */
  readonly out: number;
}

/** Throws {@link SpecError} unless `spec` is a valid ProjectionHeadSpec. */
export function validateProjectionHeadSpec(spec: unknown): asserts spec is ProjectionHeadSpec {
  const s = spec as Partial<ProjectionHeadSpec> | null;
  const ok = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (!s || !ok(s.hidden) || !ok(s.out)) throw new SpecError(`invalid projection head spec: expected {hidden, out} positive integers, got ${JSON.stringify(spec)}`);
}

/**
 * Projection head for contrastive / redundancy-reduction pre-training (SimCLR, Chen et al. 2020;
 * Barlow Twins, Zbontar et al. 2021): `[N, C]` → linear (no bias) → BN → ReLU → linear → `[N, out]`.
 * Variables `head/fc1/w` `[C, hidden]`, `head/bn1/*`, `head/fc2/w` `[hidden, out]`, `head/fc2/b`.
 */
export class ProjectionHead {
  readonly #fc1: Linear;
  readonly #bn1: BatchNorm;
  readonly #fc2: Linear;
  constructor(params: Params, inFeatures: number, spec: ProjectionHeadSpec, prefix = 'head') {
    validateProjectionHeadSpec(spec);
    this.#fc1 = new Linear(params, `${prefix}/fc1`, inFeatures, spec.hidden, false);
    this.#bn1 = new BatchNorm(params, `${prefix}/bn1`, spec.hidden);
    this.#fc2 = new Linear(params, `${prefix}/fc2`, spec.hidden, spec.out);
  }
  apply(pooled: tf.Tensor2D, options: ApplyOptions): tf.Tensor2D {
    return this.#fc2.apply(this.#bn1.apply(this.#fc1.apply(pooled), options, { relu: true }));
  }
}
