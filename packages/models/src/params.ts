import * as tf from '@tensorflow/tfjs-core';
import { ModelError, UnknownVariableError, WeightsMismatchError } from './errors';
import type { WeightProblem } from './errors';
import { randomFor, zeros } from './init';
import type { Initializer } from './init';

/** A variable's values copied out of the backend, e.g. for checkpoints. */
export interface NamedArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Options of {@link Params.assign}. */
export interface AssignOptions {
  /** Only variables whose names start with this prefix take part (e.g. `encoder/`). Default: all. */
  readonly prefix?: string;
  /** Leave model variables that `values` lacks as they are instead of failing. Default false. */
  readonly allowMissing?: boolean;
  /** Ignore entries of `values` that the model does not have instead of failing. Default false. */
  readonly allowUnexpected?: boolean;
}

let instances = 0;
/** Tells engine variable names of two copies of this module apart (e.g. two bundles in one page). */
const MODULE_TAG = Math.random().toString(36).slice(2, 8);

/**
 * A store of named float32 variables: `encoder/stem/conv/w`, `encoder/stem/bn/gamma`, … .
 *
 * Trainable variables are the weights the optimiser updates; the others (batch-norm running
 * mean/var) are state that is saved and loaded with them. Names are the model's own; the
 * underlying `tf.Variable`s get unique engine names (`tomosort-<tag>-<id>/<name>`), so two models with the same
 * architecture can live side by side.
 *
 * Initial values come from {@link randomFor}(seed, name): the same seed gives identical weights
 * on every backend.
 */
/** 'fast': @tomosort/backend's conv2d gradients; 'stock': tfjs' built-in Conv2DBackprop* kernels. */
export type ConvGradients = 'fast' | 'stock';

export class Params {
  readonly #id = ++instances;
  readonly #vars = new Map<string, tf.Variable>();
  /** Engine variable name → our name. */
  readonly #names = new Map<string, string>();
  readonly #initialise: boolean;
  #disposed = false;

  /**
   * @param seed seeds every initialiser (default 0)
   * @param options.initialise false: every variable starts at zero (cheap; for weights about to
   *   be overwritten by a load). Default true.
   * @param options.convGradients how convolution gradients are computed: 'fast' (default, forward-conv
   *   kernels on every backend) or 'stock' (tfjs' own kernels; for benchmarks that compare the two)
   */
  constructor(
    readonly seed = 0,
    options: { readonly initialise?: boolean; readonly convGradients?: ConvGradients } = {},
  ) {
    this.#initialise = options.initialise ?? true;
    this.convGradients = options.convGradients ?? 'fast';
  }

  /** How this model's convolutions compute gradients (see the constructor). */
  readonly convGradients: ConvGradients;

  /** Creates variable `name` of `shape` filled by `init`. Names must be unique in the store. */
  add(name: string, shape: readonly number[], init: Initializer, trainable = true): tf.Variable {
    this.#assertLive();
    if (this.#vars.has(name)) throw new ModelError(`variable ${name} is already defined (names must be unique)`);
    const values = (this.#initialise ? init : zeros)(shape, randomFor(this.seed, name));
    const t = tf.tensor(values, [...shape], 'float32');
    const v = tf.variable(t, trainable, `tomosort-${MODULE_TAG}-${this.#id}/${name}`);
    t.dispose();
    this.#vars.set(name, v);
    this.#names.set(v.name, name);
    return v;
  }

  /** The variable called `name`; throws {@link UnknownVariableError} when there is none. */
  get(name: string): tf.Variable {
    const v = this.#vars.get(name);
    if (!v) throw new UnknownVariableError(name);
    return v;
  }

  has(name: string): boolean {
    return this.#vars.has(name);
  }

  /** Every variable name, in creation order (stable for a given architecture). */
  get names(): string[] {
    return [...this.#vars.keys()];
  }

  /** Variables the optimiser should update, by name. */
  get trainable(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    for (const [name, v] of this.#vars) if (v.trainable) out[name] = v;
    return out;
  }

  /** Every variable (trainable weights and batch-norm statistics), by name: what a checkpoint holds. */
  get state(): Record<string, tf.Variable> {
    return Object.fromEntries(this.#vars);
  }

  /**
   * Freezes (`false`) or unfreezes (`true`) the weights under `prefix`, e.g. `encoder/` for a linear
   * probe. Batch-norm statistics stay non-trainable whatever is asked. Returns how many changed.
   */
  setTrainable(prefix: string, trainable: boolean): number {
    let n = 0;
    for (const [name, v] of this.#vars) {
      if (!name.startsWith(prefix) || isStatistic(name) || v.trainable === trainable) continue;
      v.trainable = trainable;
      n++;
    }
    return n;
  }

  /** Number of scalar values: trainable ones (the usual "parameter count") or all, statistics included. */
  count(which: 'trainable' | 'all' = 'trainable'): number {
    let n = 0;
    for (const v of this.#vars.values()) if (which === 'all' || v.trainable) n += v.size;
    return n;
  }

  /** The problems assigning `saved` (name → shape) would meet; empty when everything fits. */
  check(saved: Readonly<Record<string, readonly number[]>>, options: AssignOptions = {}): WeightProblem[] {
    const prefix = options.prefix ?? '';
    const problems: WeightProblem[] = [];
    for (const [name, v] of this.#vars) {
      if (!name.startsWith(prefix)) continue;
      const s = saved[name];
      if (!s) {
        if (!options.allowMissing) problems.push({ kind: 'missing', variable: name, expected: v.shape });
      } else if (!sameShape(s, v.shape)) {
        problems.push({ kind: 'shape', variable: name, saved: [...s], expected: v.shape });
      }
    }
    if (!options.allowUnexpected) {
      for (const [name, s] of Object.entries(saved)) {
        if (name.startsWith(prefix) && !this.#vars.has(name)) problems.push({ kind: 'unexpected', variable: name, saved: [...s] });
      }
    }
    return problems;
  }

  /**
   * Copies `values` into the variables of the same names, all or nothing: every name and shape is
   * checked first and the problems are thrown together as a {@link WeightsMismatchError}.
   * The caller keeps ownership of `values`.
   */
  assign(values: Readonly<Record<string, tf.Tensor>>, options: AssignOptions = {}): void {
    this.#assertLive();
    const shapes: Record<string, readonly number[]> = {};
    for (const [name, t] of Object.entries(values)) shapes[name] = t.shape;
    const problems = this.check(shapes, options);
    if (problems.length) throw new WeightsMismatchError(problems);
    const prefix = options.prefix ?? '';
    tf.tidy(() => {
      for (const [name, t] of Object.entries(values)) {
        const v = this.#vars.get(name);
        if (v && name.startsWith(prefix)) v.assign(t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
      }
    });
  }

  /** Copies every variable's values out (awaits the backend; never `dataSync`). */
  async read(): Promise<NamedArray[]> {
    this.#assertLive();
    const out: NamedArray[] = [];
    for (const [name, v] of this.#vars) out.push({ name, shape: v.shape, values: (await v.data()) as Float32Array });
    return out;
  }

  /**
   * `tf.variableGrads` over this store's trainable variables, with gradients keyed by our names.
   * Variables that do not influence `f` get no entry. The caller disposes value and gradients.
   * tfjs-core alone registers no gradients: import `@tensorflow/tfjs-core/dist/register_all_gradients` once.
   */
  grads(f: () => tf.Scalar): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
    const vars = Object.values(this.trainable);
    const { value, grads } = tf.variableGrads(f, vars);
    const named: Record<string, tf.Tensor> = {};
    for (const [engineName, g] of Object.entries(grads)) named[this.#names.get(engineName) ?? engineName] = g;
    return { value, grads: named };
  }

  /** Frees every variable; the store cannot be used afterwards. */
  dispose(): void {
    for (const v of this.#vars.values()) v.dispose();
    this.#vars.clear();
    this.#names.clear();
    this.#disposed = true;
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  #assertLive(): void {
    if (this.#disposed) throw new ModelError('this parameter store was disposed');
  }
}

/** Batch-norm running statistics: never trainable. */
export const isStatistic = (name: string): boolean => name.endsWith('/mean') || name.endsWith('/var');

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
