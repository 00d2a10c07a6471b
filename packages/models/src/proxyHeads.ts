// Heads of the 3D proxy tasks (Taleb et al. 2020): a classifier over the features of K patches
// (rotation K = 1, relative patch location K = 2, jigsaw K = 27) and the CPC context + predictors.
import * as tf from '@tensorflow/tfjs-core';
import { SpecError } from './errors';
import { Gru, Linear } from './layers';
import type { Params } from './params';

/** Sizes of a {@link PatchClassifierHead}. */
export interface PatchClassifierSpec {
  /** K: patches per sample, whose pooled features are concatenated in order. */
  readonly patches: number;
  readonly hidden: number;
  readonly classes: number;
}

const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

export function validatePatchClassifierSpec(spec: unknown): asserts spec is PatchClassifierSpec {
  const s = spec as Partial<PatchClassifierSpec> | null;
  if (!s || !posInt(s.patches) || !posInt(s.hidden) || !posInt(s.classes) || s.classes < 2) {
    throw new SpecError(`invalid patch classifier spec: expected {patches, hidden, classes ≥ 2} positive integers, got ${JSON.stringify(spec)}`);
  }
}

/**
 * `[N·K, F]` pooled features of K patches per sample (sample-major) → `[N, K·F]` → linear →
 * ReLU → linear → `[N, classes]` logits. Variables `head/fc1/*` [K·F, hidden], `head/fc2/*`.
 */
export class PatchClassifierHead {
  readonly #fc1: Linear;
  readonly #fc2: Linear;
  constructor(
    params: Params,
    readonly inFeatures: number,
    readonly spec: PatchClassifierSpec,
    prefix = 'head',
  ) {
    validatePatchClassifierSpec(spec);
    this.#fc1 = new Linear(params, `${prefix}/fc1`, spec.patches * inFeatures, spec.hidden);
    this.#fc2 = new Linear(params, `${prefix}/fc2`, spec.hidden, spec.classes);
  }
  apply(pooled: tf.Tensor2D): tf.Tensor2D {
    const k = this.spec.patches;
    if (pooled.shape[0] % k !== 0) throw new SpecError(`patch classifier: ${pooled.shape[0]} patches are not whole samples of ${k}`);
    const rows = tf.reshape(pooled, [pooled.shape[0] / k, k * this.inFeatures]) as tf.Tensor2D;
    return this.#fc2.apply(tf.relu(this.#fc1.apply(rows)));
  }
}

/** Sizes of a {@link CpcHead}. */
export interface CpcHeadSpec {
  /** Size of a patch's code (and of the context). */
  readonly code: number;
  /** Cells per axis of the patch grid (Taleb et al.: 4). */
  readonly grid: number;
  /** Rows (planes along d) the context reads; the rest are predicted, one step each. */
  readonly contextRows: number;
}

export function validateCpcHeadSpec(spec: unknown): asserts spec is CpcHeadSpec {
  const s = spec as Partial<CpcHeadSpec> | null;
  if (!s || !posInt(s.code) || !posInt(s.grid) || s.grid < 2 || !posInt(s.contextRows) || s.contextRows >= s.grid) {
    throw new SpecError(`invalid CPC head spec: expected {code, grid ≥ 2, contextRows in [1, grid)} positive integers, got ${JSON.stringify(spec)}`);
  }
}

/**
 * Contrastive predictive coding over a grid³ of patches (van den Oord et al. 2018, in 3D as Taleb
 * et al.): code z = linear(pooled features); per column (h, w) a GRU runs down rows
 * 0 … contextRows − 1 of codes; step k's prediction W_k·context is compared (InfoNCE) with the
 * code of the same column in row contextRows + k.
 *
 * `apply` takes `[N·grid³, F]` (each sample's patches in cell order) and returns one row per
 * (sample, column, step) — the order of `cpcPairs` in @tomosort/pretext, per sample — holding
 * `[prediction ‖ target code]`, `[N·grid²·steps, 2·code]`. Variables `head/code/*`, `head/gru/*`,
 * `head/predict{k}/w`.
 */
export class CpcHead {
  readonly #code: Linear;
  readonly #gru: Gru;
  readonly #predict: Linear[];
  constructor(
    params: Params,
    inFeatures: number,
    readonly spec: CpcHeadSpec,
    prefix = 'head',
  ) {
    validateCpcHeadSpec(spec);
    this.#code = new Linear(params, `${prefix}/code`, inFeatures, spec.code);
    this.#gru = new Gru(params, `${prefix}/gru`, spec.code, spec.code);
    this.#predict = Array.from({ length: spec.grid - spec.contextRows }, (_, k) => new Linear(params, `${prefix}/predict${k}`, spec.code, spec.code, false));
  }
  apply(pooled: tf.Tensor2D): tf.Tensor2D {
    const { grid: g, contextRows, code } = this.spec;
    const cells = g ** 3;
    if (pooled.shape[0] % cells !== 0) throw new SpecError(`CPC head: ${pooled.shape[0]} patches are not whole ${g}³ grids`);
    const n = pooled.shape[0] / cells;
    const z = tf.reshape(this.#code.apply(pooled), [n, g, g * g, code]) as tf.Tensor4D; // [N, row, column, code]
    const row = (r: number) => tf.reshape(tf.slice(z, [0, r, 0, 0], [n, 1, g * g, code]), [n * g * g, code]) as tf.Tensor2D;
    const context = this.#gru.run(Array.from({ length: contextRows }, (_, r) => row(r)));
    const steps = this.#predict.map((w, k) => tf.concat([w.apply(context), row(contextRows + k)], 1)); // [N·g², 2·code] each
    return tf.reshape(tf.stack(steps, 1), [n * g * g * steps.length, 2 * code]) as tf.Tensor2D;
  }
}
