import * as tf from '@tensorflow/tfjs-core';
import { ModelError, ShapeError, SpecError } from './errors';
import { maxPool3d } from '@tomosort/backend';
import { BatchNorm, Conv2d, Conv3d } from './layers';
import type { ApplyOptions, BatchNormFuse } from './layers';
import { maxPool } from './ops';
import type { Params } from './params';

/** Residual block kinds of He et al. 2016, "Deep Residual Learning for Image Recognition". */
export type BlockKind =
  /** Two 3×3 convs (ResNet-18/34); expansion 1. */
  | 'basic'
  /** 1×1 → 3×3 (carries the stride, "ResNet v1.5" as torchvision) → 1×1 ×4; expansion 4. */
  | 'bottleneck'
  /**
   * One 3×3 conv + BN + ReLU, no shortcut; a stage's stride is a max-pool (size = stride) before
   * its first block: the down path of a U-Net (Çiçek et al. 2016; Taleb et al. 2020's 3D encoder).
   */
  | 'plain';

/** Output channels of a stage = its width × this. */
export const BLOCK_EXPANSION: Readonly<Record<BlockKind, number>> = { basic: 1, bottleneck: 4, plain: 1 };

/** The stem: conv k×k / stride + BN + ReLU, then optionally max-pool 3×3 / 2 (pad 1). */
export interface StemSpec {
  readonly kernel: number;
  readonly stride: number;
  readonly channels: number;
  readonly maxPool: boolean;
}

/** One stage: `blocks` residual blocks; the first one carries `stride` and the width change. */
export interface StageSpec {
  readonly blocks: number;
  /** Base width (the block's inner channels); the stage outputs width × expansion channels. */
  readonly width: number;
  readonly stride: number;
}

/**
 * A 2D ResNet encoder, fully spelled out (JSON-serialisable, saved in the manifest), so a saved
 * model rebuilds exactly even if the presets change. Build one with {@link encoderSpec}.
 */
export interface EncoderSpec {
  readonly kind: 'resnet';
  /** The preset it came from (informative): `resnet18`, `small`, … */
  readonly name: string;
  /** Channels of the input slices: 1 for CT. */
  readonly inChannels: number;
  /**
   * Spatial dimensions: 2 (slices `[N, H, W, C]`; the default when absent) or 3 (volumes
   * `[N, D, H, W, C]`, every conv and pool k×k×k, as the 3D ResNets of the 3D pretext tasks).
   */
  readonly dims?: 2 | 3;
  /**
   * 3D only: strides (and pools) act in-plane only, never along depth — CSPR's 3D ResNet, whose
   * inputs may be 3 slices deep. Absent: every axis.
   */
  readonly inPlaneStrides?: boolean;
  readonly block: BlockKind;
  readonly stem: StemSpec;
  readonly stages: readonly StageSpec[];
}

/** Encoder presets. */
export type EncoderPreset =
  /** Test size: stem 3×3/1 (8 ch, no pool), 4 stages of 1 basic block, widths [8, 16, 32, 64]; ~0.2 M params. */
  | 'small'
  /** He et al. 2016: stem 7×7/2 + max-pool, basic blocks [2, 2, 2, 2], widths [64, 128, 256, 512]; 11.2 M params (1 channel). */
  | 'resnet18'
  /** Basic blocks [3, 4, 6, 3]; 21.3 M params (1 channel). */
  | 'resnet34'
  /** Bottleneck blocks [3, 4, 6, 3], outputs 256…2048 channels; 23.5 M params (1 channel). */
  | 'resnet50'
  /**
   * The U-Net down path of Taleb et al. 2020's 3D proxy tasks: 4 levels of 2 × (3×3 conv + BN +
   * ReLU), max-pool 2 between levels, 16 filters doubling per level (the stem is level 1's first
   * conv, stage 1 its second); 0.88 M params in 3D (1 channel).
   */
  | 'unet-down';

const PRESETS: Readonly<Record<EncoderPreset, { block: BlockKind; blocks: readonly number[]; widths: readonly number[]; stem: StemSpec }>> = {
  small: { block: 'basic', blocks: [1, 1, 1, 1], widths: [8, 16, 32, 64], stem: { kernel: 3, stride: 1, channels: 8, maxPool: false } },
  resnet18: { block: 'basic', blocks: [2, 2, 2, 2], widths: [64, 128, 256, 512], stem: { kernel: 7, stride: 2, channels: 64, maxPool: true } },
  resnet34: { block: 'basic', blocks: [3, 4, 6, 3], widths: [64, 128, 256, 512], stem: { kernel: 7, stride: 2, channels: 64, maxPool: true } },
  resnet50: { block: 'bottleneck', blocks: [3, 4, 6, 3], widths: [64, 128, 256, 512], stem: { kernel: 7, stride: 2, channels: 64, maxPool: true } },
  'unet-down': { block: 'plain', blocks: [1, 2, 2, 2], widths: [16, 32, 64, 128], stem: { kernel: 3, stride: 1, channels: 16, maxPool: false } },
};

/** The preset names, for CLIs and validation. */
export const ENCODER_PRESETS = Object.keys(PRESETS) as readonly EncoderPreset[];

/**
 * The spec of a preset encoder.
 * @param options.width channel multiplier applied to the stem and every stage (rounded, ≥ 1); default 1
 * @param options.inChannels default 1 (CT slices)
 */
export function encoderSpec(preset: EncoderPreset, options: { readonly width?: number; readonly inChannels?: number; readonly dims?: 2 | 3; readonly inPlaneStrides?: boolean } = {}): EncoderSpec {
  if (options.inPlaneStrides && options.dims !== 3) throw new SpecError('inPlaneStrides is for 3D encoders (dims: 3)');
  const p = PRESETS[preset];
  if (!p) throw new SpecError(`unknown encoder preset ${String(preset)} (one of ${ENCODER_PRESETS.join(', ')})`);
  const width = options.width ?? 1;
  if (!(width > 0)) throw new SpecError(`width multiplier must be positive, got ${width}`);
  const scale = (c: number) => Math.max(1, Math.round(c * width));
  const spec: EncoderSpec = {
    kind: 'resnet',
    name: `${width === 1 ? preset : `${preset}x${width}`}${options.dims === 3 ? (options.inPlaneStrides ? '-3d-inplane' : '-3d') : ''}`,
    inChannels: options.inChannels ?? 1,
    ...(options.dims === 3 ? { dims: 3 as const } : {}),
    ...(options.inPlaneStrides ? { inPlaneStrides: true } : {}),
    block: p.block,
    stem: { ...p.stem, channels: scale(p.stem.channels) },
    stages: p.blocks.map((blocks, i) => ({ blocks, width: scale(p.widths[i] ?? 1), stride: i === 0 ? 1 : 2 })),
  };
  validateEncoderSpec(spec);
  return spec;
}

/** Output channels of stage `i`. */
export function stageChannels(spec: EncoderSpec, i: number): number {
  const s = spec.stages[i];
  if (!s) throw new SpecError(`encoder ${spec.name} has no stage ${i}`);
  return s.width * BLOCK_EXPANSION[spec.block];
}

/** Channels of the pooled feature vector (the last stage's output). */
export function featureDim(spec: EncoderSpec): number {
  return stageChannels(spec, spec.stages.length - 1);
}

/**
 * Total downsampling factor of each feature map: `stem` (after the stem conv) and `stages[i]`.
 * resnet18: stem 2, stages [4, 8, 16, 32]; small: stem 1, stages [1, 2, 4, 8].
 */
export function featureStrides(spec: EncoderSpec): { stem: number; stages: number[] } {
  let s = spec.stem.stride;
  const stem = s;
  if (spec.stem.maxPool) s *= 2;
  const stages = spec.stages.map((st) => (s *= st.stride));
  return { stem, stages };
}

const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Throws {@link SpecError} unless `spec` is a valid EncoderSpec (e.g. read from a manifest). */
export function validateEncoderSpec(spec: unknown): asserts spec is EncoderSpec {
  const s = spec as Partial<EncoderSpec> | null;
  const bad = (why: string): never => {
    throw new SpecError(`invalid encoder spec: ${why}`);
  };
  if (!s || typeof s !== 'object') bad('not an object');
  if (s!.kind !== 'resnet') bad(`kind must be "resnet", got ${JSON.stringify(s!.kind)}`);
  if (typeof s!.name !== 'string') bad('name must be a string');
  if (!posInt(s!.inChannels)) bad(`inChannels must be a positive integer, got ${JSON.stringify(s!.inChannels)}`);
  if (s!.dims !== undefined && s!.dims !== 2 && s!.dims !== 3) bad(`dims must be 2 or 3, got ${JSON.stringify(s!.dims)}`);
  if (s!.inPlaneStrides !== undefined && (typeof s!.inPlaneStrides !== 'boolean' || s!.dims !== 3)) bad('inPlaneStrides must be a boolean, on a 3D encoder');
  if (s!.block !== 'basic' && s!.block !== 'bottleneck' && s!.block !== 'plain') bad(`block must be "basic", "bottleneck" or "plain", got ${JSON.stringify(s!.block)}`);
  const stem = s!.stem;
  if (!stem || !posInt(stem.kernel) || stem.kernel % 2 !== 1 || !posInt(stem.stride) || !posInt(stem.channels) || typeof stem.maxPool !== 'boolean') {
    bad(`stem must be {kernel (odd), stride, channels, maxPool}, got ${JSON.stringify(stem)}`);
  }
  if (!Array.isArray(s!.stages) || s!.stages.length === 0) bad('stages must be a non-empty array');
  s!.stages!.forEach((st, i) => {
    if (!st || !posInt(st.blocks) || !posInt(st.width) || !posInt(st.stride)) bad(`stage ${i} must be {blocks, width, stride} of positive integers, got ${JSON.stringify(st)}`);
  });
}

/** A feature map: NHWC (2D encoders) or NDHWC (3D). */
export type FeatureMap = tf.Tensor4D | tf.Tensor5D;

/** Feature maps of an encoder forward pass (NHWC; NDHWC for a 3D encoder, `T` = Tensor5D). */
export interface EncoderFeatures<T extends FeatureMap = tf.Tensor4D> {
  /** After the stem's conv + BN + ReLU (before max-pool): `[N, ⌈H/s⌉, ⌈W/s⌉, stem.channels]`. */
  readonly stem: T;
  /** Output of every stage, shallow to deep: resnet18 at 64² → 16², 8², 4², 2² with 64…512 channels. */
  readonly stages: readonly T[];
  /** Global average pool of the last stage: `[N, featureDim]`. */
  readonly pooled: tf.Tensor2D;
}

/** How a block's convs and pools stride: 2D, 3D on every axis, or 3D in-plane only ('xy'). */
type Dims = 2 | 3 | 'xy';
const strideOf = (dims: Dims, s: number): number | [number, number, number] => (dims === 'xy' ? [1, s, s] : s);
const dimsOf = (spec: EncoderSpec): Dims => (spec.dims === 3 ? (spec.inPlaneStrides ? 'xy' : 3) : 2);

interface Block {
  apply(x: FeatureMap, o: ApplyOptions): FeatureMap;
}

/** conv → BN, the unit every block is made of (2D or 3D conv). */
class ConvBn {
  readonly conv: Conv2d | Conv3d;
  readonly bn: BatchNorm;
  constructor(params: Params, conv: string, bn: string, kernel: number, inC: number, outC: number, stride: number, dims: Dims) {
    this.conv = dims === 2 ? new Conv2d(params, conv, { kernel, inC, outC, stride }) : new Conv3d(params, conv, { kernel, inC, outC, stride: strideOf(dims, stride) });
    this.bn = new BatchNorm(params, bn, outC);
  }
  apply(x: FeatureMap, o: ApplyOptions, fuse: BatchNormFuse = {}): FeatureMap {
    const y = this.conv instanceof Conv3d ? this.conv.apply(x as tf.Tensor5D) : this.conv.apply(x as tf.Tensor4D);
    return this.bn.apply(y, o, fuse);
  }
}

/** The 1×1 / stride projection shortcut (`name/down/conv`, `name/down/bn`), when shapes change. */
function shortcut(params: Params, name: string, inC: number, outC: number, stride: number, dims: Dims): ConvBn | undefined {
  return stride !== 1 || inC !== outC ? new ConvBn(params, `${name}/down/conv`, `${name}/down/bn`, 1, inC, outC, stride, dims) : undefined;
}

/** relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). */
class BasicBlock implements Block {
  readonly #a: ConvBn;
  readonly #b: ConvBn;
  readonly #down: ConvBn | undefined;
  constructor(params: Params, name: string, inC: number, width: number, stride: number, dims: Dims) {
    this.#a = new ConvBn(params, `${name}/conv1`, `${name}/bn1`, 3, inC, width, stride, dims);
    this.#b = new ConvBn(params, `${name}/conv2`, `${name}/bn2`, 3, width, width, 1, dims);
    this.#down = shortcut(params, name, inC, width, stride, dims);
  }
  apply(x: FeatureMap, o: ApplyOptions): FeatureMap {
    const h = this.#a.apply(x, o, { relu: true });
    const residual = this.#down ? this.#down.apply(x, o) : x;
    return this.#b.apply(h, o, { relu: true, residual });
  }
}

/** 1×1 (width) → 3×3 / stride (width) → 1×1 (4·width), plus shortcut, ReLU after each BN and the sum. */
class Bottleneck implements Block {
  readonly #a: ConvBn;
  readonly #b: ConvBn;
  readonly #c: ConvBn;
  readonly #down: ConvBn | undefined;
  constructor(params: Params, name: string, inC: number, width: number, stride: number, dims: Dims) {
    const outC = width * BLOCK_EXPANSION.bottleneck;
    this.#a = new ConvBn(params, `${name}/conv1`, `${name}/bn1`, 1, inC, width, 1, dims);
    this.#b = new ConvBn(params, `${name}/conv2`, `${name}/bn2`, 3, width, width, stride, dims);
    this.#c = new ConvBn(params, `${name}/conv3`, `${name}/bn3`, 1, width, outC, 1, dims);
    this.#down = shortcut(params, name, inC, outC, stride, dims);
  }
  apply(x: FeatureMap, o: ApplyOptions): FeatureMap {
    const h = this.#b.apply(this.#a.apply(x, o, { relu: true }), o, { relu: true });
    const residual = this.#down ? this.#down.apply(x, o) : x;
    return this.#c.apply(h, o, { relu: true, residual });
  }
}

/** [max-pool stride / stride →] relu(bn(conv3×3(x))): a U-Net down path's unit. */
class PlainBlock implements Block {
  readonly #a: ConvBn;
  constructor(
    params: Params,
    readonly name: string,
    inC: number,
    width: number,
    readonly pool: number,
    readonly dims: Dims,
  ) {
    this.#a = new ConvBn(params, `${name}/conv1`, `${name}/bn1`, 3, inC, width, 1, dims);
  }
  apply(x: FeatureMap, o: ApplyOptions): FeatureMap {
    if (x.shape.slice(this.dims === 'xy' ? 2 : 1, -1).some((n) => n < this.pool)) {
      throw new ModelError(`${this.name}: its ${this.pool}× max-pool needs feature maps of at least ${this.pool}, got [${x.shape.slice(1, -1).join(', ')}]: the input is too small for this encoder (each stride halves it)`);
    }
    const p = this.pool === 1 ? x : this.dims === 2 ? maxPool(x as tf.Tensor4D, this.pool, this.pool, 0) : maxPool3d(x as tf.Tensor5D, strideOf(this.dims, this.pool), strideOf(this.dims, this.pool), 0);
    return this.#a.apply(p, o, { relu: true });
  }
}

/**
 * A 2D ResNet encoder (He et al. 2016) over NHWC slices `[N, H, W, inChannels]`.
 *
 * Variables (prefix `encoder`): `stem/conv/w`, `stem/bn/*`, then per stage i (1-based) and block j
 * (0-based) `layer{i}/{j}/conv1/w`, `…/bn1/*`, `…/conv2/w`, … and `…/down/conv/w`, `…/down/bn/*`
 * for projection shortcuts — torchvision's names with `/` for `.`.
 */
export class ResNetEncoder {
  readonly #stem: ConvBn;
  readonly #stages: Block[][];

  constructor(
    params: Params,
    readonly spec: EncoderSpec,
    readonly prefix = 'encoder',
  ) {
    validateEncoderSpec(spec);
    const { stem } = spec;
    const dims = dimsOf(spec);
    this.#stem = new ConvBn(params, `${prefix}/stem/conv`, `${prefix}/stem/bn`, stem.kernel, spec.inChannels, stem.channels, stem.stride, dims);
    let inC = stem.channels;
    this.#stages = spec.stages.map((st, i) =>
      Array.from({ length: st.blocks }, (_, j) => {
        const name = `${prefix}/layer${i + 1}/${j}`;
        const stride = j === 0 ? st.stride : 1;
        const block =
          spec.block === 'basic'
            ? new BasicBlock(params, name, inC, st.width, stride, dims)
            : spec.block === 'bottleneck'
              ? new Bottleneck(params, name, inC, st.width, stride, dims)
              : new PlainBlock(params, name, inC, st.width, stride, dims);
        inC = st.width * BLOCK_EXPANSION[spec.block];
        return block;
      }),
    );
  }

  /**
   * Every feature map and the pooled vector; see {@link EncoderFeatures}. Slices `[N, H, W, C]`
   * for a 2D encoder, volumes `[N, D, H, W, C]` for a 3D one.
   */
  apply(x: tf.Tensor4D, options: ApplyOptions): EncoderFeatures;
  apply(x: tf.Tensor5D, options: ApplyOptions): EncoderFeatures<tf.Tensor5D>;
  apply(x: FeatureMap, options: ApplyOptions): EncoderFeatures<FeatureMap> {
    const dims = this.spec.dims ?? 2;
    if (x.rank !== dims + 2 || x.shape[dims + 1] !== this.spec.inChannels) {
      throw new ShapeError(this.prefix, dims === 3 ? ['N', 'D', 'H', 'W', this.spec.inChannels] : ['N', 'H', 'W', this.spec.inChannels], x.shape);
    }
    const stem = this.#stem.apply(x, options, { relu: true });
    let h: FeatureMap = stem;
    if (this.spec.stem.maxPool) h = dims === 3 ? maxPool3d(stem as tf.Tensor5D, 3, strideOf(dimsOf(this.spec), 2), 1) : maxPool(stem as tf.Tensor4D, 3, 2, 1);
    const stages: FeatureMap[] = [];
    for (const blocks of this.#stages) {
      for (const b of blocks) h = b.apply(h, options);
      stages.push(h);
    }
    const spatial = Array.from({ length: dims }, (_, i) => i + 1);
    return { stem, stages, pooled: tf.mean(h, spatial) as tf.Tensor2D };
  }
}
