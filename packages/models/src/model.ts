import type * as tf from '@tensorflow/tfjs-core';
import { ModelError, SpecError } from './errors';
import { ProjectionHead, ScoreHead, validateProjectionHeadSpec } from './heads';
import type { ProjectionHeadSpec } from './heads';
import type { ApplyOptions } from './layers';
import { Params } from './params';
import type { ConvGradients } from './params';
import { ResNetEncoder, featureDim, validateEncoderSpec } from './resnet';
import type { EncoderFeatures, EncoderSpec } from './resnet';
import { CpcHead, PatchClassifierHead, validateCpcHeadSpec, validatePatchClassifierSpec } from './proxyHeads';
import type { CpcHeadSpec, PatchClassifierSpec } from './proxyHeads';
import { UNetDecoder, unetDecoderSpec, validateUNetDecoderSpec } from './unet';
import type { ClassifierInput, UNetDecoderSpec, Upsample } from './unet';

/** Encoder + slice-score head: `[N, H, W, C]` → `[N, 1]`. */
export interface ScoreModelSpec {
  readonly kind: 'score';
  readonly encoder: EncoderSpec;
}

/** Encoder + projection head (SimCLR, Barlow Twins): `[N, H, W, C]` → `[N, head.out]`. */
export interface ProjectionModelSpec {
  readonly kind: 'projection';
  readonly encoder: EncoderSpec;
  readonly head: ProjectionHeadSpec;
}

/** Encoder + U-Net decoder (segmentation): `[N, H, W, C]` → `[N, H, W, decoder.classes]` logits (3D encoder: `[N, D, H, W, …]`). */
export interface UNetModelSpec {
  readonly kind: 'unet';
  readonly encoder: EncoderSpec;
  readonly decoder: UNetDecoderSpec;
}

/** Encoder + classifier over K patches per sample (3D rotation, RPL, jigsaw): `[N·K, …]` → `[N, head.classes]` logits. */
export interface ClassifierModelSpec {
  readonly kind: 'classifier';
  readonly encoder: EncoderSpec;
  readonly head: PatchClassifierSpec;
}

/** Encoder + CPC head: `[N·grid³, …]` patches → `[N·grid²·steps, 2·code]` rows of [prediction ‖ target code]. */
export interface CpcModelSpec {
  readonly kind: 'cpc';
  readonly encoder: EncoderSpec;
  readonly head: CpcHeadSpec;
}

/** A whole architecture, JSON-serialisable; saved as the manifest's `architecture`. */
export type ModelSpec = ScoreModelSpec | ProjectionModelSpec | UNetModelSpec | ClassifierModelSpec | CpcModelSpec;

/** The kinds of model. */
export type ModelKind = ModelSpec['kind'];

/** What `apply` returns: `[N, D]` rows for score/projection models, `[N, H, W, classes]` for U-Nets. */
export type ModelOutput<S extends ModelSpec> = S extends UNetModelSpec ? tf.Tensor4D : tf.Tensor2D;

/**
 * A network: its architecture, its variables, and a forward pass. The caller owns the tensors
 * `apply` returns (wrap in `tf.tidy`) and calls `dispose()` to free the variables.
 */
export interface Model<S extends ModelSpec = ModelSpec> {
  readonly spec: S;
  readonly params: Params;
  /** Forward pass over slices `[N, H, W, encoder.inChannels]`. */
  apply(x: tf.Tensor4D, options: ApplyOptions): ModelOutput<S>;
  /** Forward pass over volumes `[N, D, H, W, encoder.inChannels]` (3D encoders). */
  apply(x: tf.Tensor5D, options: ApplyOptions): ModelOutput<S>;
  /** The encoder alone: every stage's feature map and the pooled vector. */
  encode(x: tf.Tensor4D, options: ApplyOptions): EncoderFeatures;
  dispose(): void;
}

/** Options of {@link createModel}. */
export interface CreateModelOptions {
  /** Seeds every initialiser (default 0). The same seed gives bit-identical weights on every backend. */
  readonly seed?: number;
  /** false: variables start at zero (for weights about to be loaded). Default true. */
  readonly initialise?: boolean;
  /** 'stock' makes convolutions use tfjs' own gradient kernels (benchmarks only). Default 'fast'. */
  readonly convGradients?: ConvGradients;
}

/** A score model spec. */
export function scoreModelSpec(encoder: EncoderSpec): ScoreModelSpec {
  return { kind: 'score', encoder };
}

/**
 * A projection model spec.
 * @param options.out embedding size, default 128
 * @param options.hidden hidden width, default the encoder's feature dimension (512 for resnet18)
 */
export function projectionModelSpec(encoder: EncoderSpec, options: { readonly out?: number; readonly hidden?: number } = {}): ProjectionModelSpec {
  const head = { hidden: options.hidden ?? featureDim(encoder), out: options.out ?? 128 };
  validateProjectionHeadSpec(head);
  return { kind: 'projection', encoder, head };
}

/** A U-Net model spec; see {@link unetDecoderSpec} for the default widths. Upsampling defaults to nearest, the classifier input to 'linear'. */
export function unetModelSpec(
  encoder: EncoderSpec,
  options: { readonly classes: number; readonly upsample?: Upsample; readonly widths?: readonly number[]; readonly classifierInput?: ClassifierInput },
): UNetModelSpec {
  return { kind: 'unet', encoder, decoder: unetDecoderSpec(encoder, options) };
}

/** A classifier over K patches per sample; `hidden` defaults to 256. */
export function classifierModelSpec(encoder: EncoderSpec, options: { readonly patches: number; readonly classes: number; readonly hidden?: number }): ClassifierModelSpec {
  const head = { patches: options.patches, hidden: options.hidden ?? 256, classes: options.classes };
  validatePatchClassifierSpec(head);
  return { kind: 'classifier', encoder, head };
}

/** A CPC model over a grid³ of patches; `code` defaults to the encoder's feature dimension. */
export function cpcModelSpec(encoder: EncoderSpec, options: { readonly grid: number; readonly contextRows: number; readonly code?: number }): CpcModelSpec {
  const head = { code: options.code ?? featureDim(encoder), grid: options.grid, contextRows: options.contextRows };
  validateCpcHeadSpec(head);
  return { kind: 'cpc', encoder, head };
}

/** Throws {@link SpecError} unless `spec` is a valid ModelSpec (e.g. read from a manifest). */
export function validateModelSpec(spec: unknown): asserts spec is ModelSpec {
  if (!spec || typeof spec !== 'object') throw new SpecError(`invalid model spec: not an object`);
  const s = spec as Record<string, unknown>;
  validateEncoderSpec(s.encoder);
  switch (s.kind) {
    case 'score':
      return;
    case 'projection':
      validateProjectionHeadSpec(s.head);
      return;
    case 'unet':
      validateUNetDecoderSpec(s.decoder, s.encoder);
      return;
    case 'classifier':
      validatePatchClassifierSpec(s.head);
      return;
    case 'cpc':
      validateCpcHeadSpec(s.head);
      return;
    default:
      throw new SpecError(`invalid model spec: kind must be "score", "projection", "unet", "classifier" or "cpc", got ${JSON.stringify(s.kind)}`);
  }
}

/**
 * Builds a model and initialises its variables: convs Kaiming-normal (fan_out, ReLU), batch norm
 * γ = 1, β = 0, running mean 0 / var 1, linears PyTorch's default uniform.
 * Variable names start with `encoder/`, `head/` or `decoder/`.
 */
export function createModel<S extends ModelSpec>(spec: S, options: CreateModelOptions = {}): Model<S> {
  validateModelSpec(spec);
  const params = new Params(options.seed ?? 0, { initialise: options.initialise ?? true, convGradients: options.convGradients ?? 'fast' });
  try {
    const encoder = new ResNetEncoder(params, spec.encoder);
    const encode = (x: tf.Tensor4D, o: ApplyOptions) => encoder.apply(x, o);
    const pooled = (x: tf.Tensor4D | tf.Tensor5D, o: ApplyOptions) => (x.rank === 5 ? encoder.apply(x as tf.Tensor5D, o) : encoder.apply(x as tf.Tensor4D, o)).pooled;
    let apply: (x: tf.Tensor4D | tf.Tensor5D, o: ApplyOptions) => tf.Tensor;
    switch (spec.kind) {
      case 'score': {
        const head = new ScoreHead(params, featureDim(spec.encoder));
        apply = (x, o) => head.apply(pooled(x, o));
        break;
      }
      case 'projection': {
        const head = new ProjectionHead(params, featureDim(spec.encoder), spec.head);
        apply = (x, o) => head.apply(pooled(x, o), o);
        break;
      }
      case 'unet': {
        const decoder = new UNetDecoder(params, spec.decoder, spec.encoder);
        apply = (x, o) => decoder.apply(x.rank === 5 ? encoder.apply(x as tf.Tensor5D, o) : encoder.apply(x as tf.Tensor4D, o), x.shape.slice(1, x.rank - 1), o);
        break;
      }
      case 'classifier': {
        const head = new PatchClassifierHead(params, featureDim(spec.encoder), spec.head);
        apply = (x, o) => head.apply(pooled(x, o));
        break;
      }
      case 'cpc': {
        const head = new CpcHead(params, featureDim(spec.encoder), spec.head);
        apply = (x, o) => head.apply(pooled(x, o));
        break;
      }
    }
    return {
      spec,
      params,
      apply: apply as Model<S>['apply'],
      encode,
      dispose: () => params.dispose(),
    };
  } catch (e) {
    params.dispose();
    throw e;
  }
}

/** Narrows a model (e.g. one just loaded) to a kind; throws {@link ModelError} if it is another. */
export function expectKind<K extends ModelKind>(model: Model, kind: K): Model<Extract<ModelSpec, { kind: K }>> {
  if (model.spec.kind !== kind) throw new ModelError(`expected a ${kind} model, got a ${model.spec.kind} model (encoder ${model.spec.encoder.name})`);
  return model as unknown as Model<Extract<ModelSpec, { kind: K }>>;
}

/** A new model of `spec` whose encoder is a copy of `pretrained`'s (matched by name under `encoder/`). */
function withEncoderOf<S extends ModelSpec>(spec: S, pretrained: Model, seed: number): Model<S> {
  const model = createModel(spec, { seed });
  try {
    const state = pretrained.params.state;
    const encoderState = Object.fromEntries(Object.entries(state).filter(([name]) => name.startsWith('encoder/')));
    model.params.assign(encoderState, { prefix: 'encoder/' });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * A U-Net whose encoder is a copy of `pretrained`'s (weights and batch-norm statistics, matched by
 * name under `encoder/`), with a freshly initialised decoder: fine-tuning a pre-trained encoder for
 * segmentation. `pretrained` is left untouched and still owned by the caller.
 */
export function unetFromEncoder(
  pretrained: Model,
  options: {
    readonly classes: number;
    readonly upsample?: Upsample;
    readonly widths?: readonly number[];
    readonly classifierInput?: ClassifierInput;
    readonly seed?: number;
  },
): Model<UNetModelSpec> {
  return withEncoderOf(unetModelSpec(pretrained.spec.encoder, options), pretrained, options.seed ?? pretrained.params.seed);
}

/**
 * A slice-score model whose encoder is a copy of `pretrained`'s, with a fresh score head: a probe
 * of what an encoder pre-trained another way (SimCLR, Barlow Twins) knows about slice position.
 */
export function scoreFromEncoder(pretrained: Model, options: { readonly seed?: number } = {}): Model<ScoreModelSpec> {
  return withEncoderOf(scoreModelSpec(pretrained.spec.encoder), pretrained, options.seed ?? pretrained.params.seed);
}
