import * as tf from '@tensorflow/tfjs-core';
import { upsampleNearest } from '@tomosort/backend';
import { ModelError, SpecError } from './errors';
import { BatchNorm, Conv2d, Conv3d } from './layers';
import type { ApplyOptions } from './layers';
import type { Params } from './params';
import { featureStrides, stageChannels } from './resnet';
import type { EncoderFeatures, EncoderSpec, FeatureMap } from './resnet';

/** How a decoder level brings the coarser map to the skip's size. */
export type Upsample =
  /** Nearest neighbour (`upsampleNearest` of @tomosort/backend: tf.image.resizeNearestNeighbor's values): cheapest. */
  | 'nearest'
  /** Bilinear with half-pixel centres (`tf.image.resizeBilinear`), as PyTorch's align_corners=False. */
  | 'bilinear';

/**
 * What the 1×1 classifier reads: the last level's second conv + BN, with or without its ReLU.
 *
 * With ReLU, a pixel whose last-level channels are all ≤ 0 before the ReLU feeds the classifier
 * zeros: its logits are the bias alone and no gradient from it reaches any weight, so a class
 * whose pixels all fall there is never learned. The narrower the level, the likelier: the `small`
 * encoder's last level has 8 channels, and fine-tuned on classes of 308, 50 and 13 pixels
 * (phantom, 5 slices at 32²) it left the 13-pixel class unlearned in 5 of 5 seeds and the
 * 50-pixel one in 2, their pixels' 8 features all 0. Without the ReLU every pixel's logits depend
 * on the weights: a linear bottleneck, as in MobileNetV2 (Sandler et al. 2018).
 */
export type ClassifierInput =
  /** BN output without ReLU: every pixel trains the classifier. The default of {@link unetDecoderSpec}. */
  | 'linear'
  /** After the ReLU, as U-Nets saved before `classifierInput` existed (a spec without it means this). */
  | 'relu';

/** A U-Net decoder over a ResNet encoder. Build one with {@link unetDecoderSpec}. */
export interface UNetDecoderSpec {
  /** Output channels (segmentation classes; logits, no softmax). */
  readonly classes: number;
  readonly upsample: Upsample;
  /** Channels of each decoder level, deep to shallow; one entry per level of {@link decoderLevels}. */
  readonly widths: readonly number[];
  /** Absent: 'relu' (specs saved before the field existed rebuild exactly). See {@link ClassifierInput}. */
  readonly classifierInput?: ClassifierInput;
}

/** Which encoder map a decoder level concatenates: a stage (0-based), the stem, or none. */
export type SkipSource = { readonly kind: 'stage'; readonly index: number } | { readonly kind: 'stem' } | { readonly kind: 'none' };

/** One decoder level: upsample to the skip's size (stride `stride` of the input), concat the skip, 2 × (conv 3×3 + BN + ReLU). */
export interface DecoderLevel {
  readonly skip: SkipSource;
  /** Downsampling factor of this level's output relative to the input. */
  readonly stride: number;
  /** Channels of the skip map (0 for none). */
  readonly skipChannels: number;
}

/**
 * The decoder levels for an encoder, deep to shallow: one per distinct feature stride finer than
 * the last stage (the deepest map of each stride is the skip), then, when the finest map is still
 * coarser than the input, a last level without skip that returns to input resolution.
 * resnet18: layer3 (/16), layer2 (/8), layer1 (/4), stem (/2), none (/1); small: layer3, layer2, layer1.
 */
export function decoderLevels(encoder: EncoderSpec): DecoderLevel[] {
  const strides = featureStrides(encoder);
  const candidates: DecoderLevel[] = [{ skip: { kind: 'stem' }, stride: strides.stem, skipChannels: encoder.stem.channels }];
  strides.stages.forEach((stride, index) => candidates.push({ skip: { kind: 'stage', index }, stride, skipChannels: stageChannels(encoder, index) }));
  const deepest = candidates.pop()!;
  const byStride = new Map<number, DecoderLevel>();
  for (const c of candidates) if (c.stride < deepest.stride) byStride.set(c.stride, c); // later = deeper wins
  const levels = [...byStride.values()].sort((a, b) => b.stride - a.stride);
  if ((levels.at(-1)?.stride ?? deepest.stride) > 1) levels.push({ skip: { kind: 'none' }, stride: 1, skipChannels: 0 });
  return levels;
}

/**
 * A decoder spec with default widths: a stage skip level gets the stage's base width, the stem
 * level the stem's channels, a level without skip half the previous one (≥ 8).
 * resnet18: [256, 128, 64, 64, 32]; resnet50: the same; small: [32, 16, 8].
 * @param options.upsample default 'nearest'
 * @param options.classifierInput default 'linear'
 */
export function unetDecoderSpec(
  encoder: EncoderSpec,
  options: { readonly classes: number; readonly upsample?: Upsample; readonly widths?: readonly number[]; readonly classifierInput?: ClassifierInput },
): UNetDecoderSpec {
  const levels = decoderLevels(encoder);
  const widths: number[] = [];
  for (const l of levels) {
    const prev = widths.at(-1) ?? encoder.stem.channels;
    widths.push(l.skip.kind === 'stage' ? encoder.stages[l.skip.index]!.width : l.skip.kind === 'stem' ? encoder.stem.channels : Math.max(8, Math.floor(prev / 2)));
  }
  const spec: UNetDecoderSpec = {
    classes: options.classes,
    upsample: options.upsample ?? 'nearest',
    widths: options.widths ? [...options.widths] : widths,
    classifierInput: options.classifierInput ?? 'linear',
  };
  validateUNetDecoderSpec(spec, encoder);
  return spec;
}

/** Throws {@link SpecError} unless `spec` is a valid decoder spec for `encoder`. */
export function validateUNetDecoderSpec(spec: unknown, encoder: EncoderSpec): asserts spec is UNetDecoderSpec {
  const s = spec as Partial<UNetDecoderSpec> | null;
  const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (!s || !posInt(s.classes)) throw new SpecError(`invalid U-Net decoder spec: classes must be a positive integer, got ${JSON.stringify(s?.classes)}`);
  if (s.upsample !== 'nearest' && s.upsample !== 'bilinear') throw new SpecError(`invalid U-Net decoder spec: upsample must be "nearest" or "bilinear", got ${JSON.stringify(s.upsample)}`);
  if (s.classifierInput !== undefined && s.classifierInput !== 'linear' && s.classifierInput !== 'relu') {
    throw new SpecError(`invalid U-Net decoder spec: classifierInput must be "linear" or "relu", got ${JSON.stringify(s.classifierInput)}`);
  }
  if (encoder.dims === 3 && s.upsample !== 'nearest') throw new SpecError(`invalid U-Net decoder spec: a 3D decoder upsamples by "nearest" only, got ${JSON.stringify(s.upsample)}`);
  const n = decoderLevels(encoder).length;
  if (!Array.isArray(s.widths) || s.widths.length !== n || !s.widths.every(posInt)) {
    throw new SpecError(`invalid U-Net decoder spec: widths must be ${n} positive integers (one per level for encoder ${encoder.name}), got ${JSON.stringify(s.widths)}`);
  }
}

/** `x` [N, D, H, W, C] repeated `f[a]` times along each spatial axis a (nearest-neighbour upsampling by integer factors). */
function repeat3d(x: tf.Tensor5D, f: readonly [number, number, number]): tf.Tensor5D {
  // One axis at a time through rank-4 views.
  let t: tf.Tensor = x;
  for (let a = 0; a < 3; a++) {
    if (f[a] === 1) continue;
    const shape = t.shape;
    const outer = shape.slice(0, a + 1).reduce((p, n) => p * n, 1);
    const inner = shape.slice(a + 2).reduce((p, n) => p * n, 1);
    // A broadcast multiply, not tf.tile: wasm's Tile took 1 of a 1.8 s 3D U-Net step; the broadcast's gradient is a Sum.
    const tiled = tf.mul(tf.reshape(t, [outer, shape[a + 1]!, 1, inner]), tf.ones([1, 1, f[a]!, 1]));
    t = tf.reshape(tiled, shape.map((n, i) => (i === a + 1 ? n * f[a]! : n)));
  }
  return t as tf.Tensor5D;
}

type Conv = Conv2d | Conv3d;
/**
 * The conv of `parts` joined along the channel axis (the upsampled map, then the skip), as a sum
 * of convs over each part's filter channels (`applyJoined`): the channel-axis Concat and its
 * SplitV gradient are row-by-row copies on tfjs-wasm (a 5D SplitV took 14.7 of a 15.9 s 3D U-Net
 * step at 16 × 64², `bench pretrain --child finetune3d --profile`; 2D, ~25 of ~350 ms at 128²).
 */
const applyConv = (conv: Conv, ...parts: FeatureMap[]): FeatureMap =>
  conv instanceof Conv3d ? conv.applyJoined(parts as tf.Tensor5D[]) : conv.applyJoined(parts as tf.Tensor4D[]);

/**
 * U-Net decoder (Ronneberger et al. 2015; in 3D, Çiçek et al. 2016) over the encoder's features:
 * from the last stage, each level upsamples to the skip's size, concatenates it and applies
 * 2 × (conv 3×3 + BN + ReLU) — the last level's final ReLU only with `classifierInput: 'relu'`; a
 * final 1×1 conv gives logits at input resolution, `[N, H, W, classes]` (2D) or
 * `[N, D, H, W, classes]` (3D encoder: 3×3×3 convs, nearest upsampling by the integer factor between
 * the maps, so the input's sides must be multiples of the encoder's total stride).
 * Variables `decoder/level{k}/conv1/w`, `…/bn1/*`, `…/conv2/w`, `…/bn2/*`, `decoder/classifier/{w,b}`.
 */
export class UNetDecoder {
  readonly #levels: { level: DecoderLevel; conv1: Conv; bn1: BatchNorm; conv2: Conv; bn2: BatchNorm }[];
  readonly #classifier: Conv;
  readonly #dims: 2 | 3;

  constructor(
    params: Params,
    readonly spec: UNetDecoderSpec,
    readonly encoder: EncoderSpec,
    readonly prefix = 'decoder',
  ) {
    validateUNetDecoderSpec(spec, encoder);
    this.#dims = encoder.dims ?? 2;
    const Conv = this.#dims === 3 ? Conv3d : Conv2d;
    let inC = stageChannels(encoder, encoder.stages.length - 1);
    this.#levels = decoderLevels(encoder).map((level, k) => {
      const w = spec.widths[k]!;
      const name = `${prefix}/level${k}`;
      const l = {
        level,
        conv1: new Conv(params, `${name}/conv1`, { kernel: 3, inC: inC + level.skipChannels, outC: w }),
        bn1: new BatchNorm(params, `${name}/bn1`, w),
        conv2: new Conv(params, `${name}/conv2`, { kernel: 3, inC: w, outC: w }),
        bn2: new BatchNorm(params, `${name}/bn2`, w),
      };
      inC = w;
      return l;
    });
    this.#classifier = new Conv(params, `${prefix}/classifier`, { kernel: 1, inC, outC: spec.classes, bias: true, init: 'torch' });
  }

  /** Logits at the input's size `size` (its H, W; D, H, W for a 3D encoder) from the encoder's features. */
  apply(features: EncoderFeatures<FeatureMap>, size: readonly number[], options: ApplyOptions): FeatureMap {
    let h = features.stages.at(-1);
    if (!h) throw new ModelError(`${this.prefix}: the encoder returned no stage features`);
    const last = this.#levels.length - 1;
    const axis = this.#dims + 1;
    for (const [k, { level, conv1, bn1, conv2, bn2 }] of this.#levels.entries()) {
      const relu = k < last || this.spec.classifierInput === 'relu' || this.spec.classifierInput === undefined;
      const skip = level.skip.kind === 'stem' ? features.stem : level.skip.kind === 'stage' ? features.stages[level.skip.index] : undefined;
      const target = skip ? skip.shape.slice(1, axis) : [...size];
      const up = this.#resize(h, target);
      const joined = skip ? applyConv(conv1, up, skip) : applyConv(conv1, up);
      h = bn2.apply(applyConv(conv2, bn1.apply(joined, options, { relu: true })), options, { relu }) as FeatureMap;
    }
    h = this.#resize(h, [...size]);
    return applyConv(this.#classifier, h);
  }

  #resize(x: FeatureMap, size: readonly number[]): FeatureMap {
    const from = x.shape.slice(1, this.#dims + 1);
    if (from.every((n, i) => n === size[i])) return x;
    if (this.#dims === 3) {
      const f = from.map((n, i) => size[i]! / n);
      if (!f.every((v) => Number.isInteger(v) && v >= 1)) throw new ModelError(`${this.prefix}: a 3D decoder upsamples by whole factors, and [${from.join(', ')}] → [${size.join(', ')}] is not (the input's sides must be multiples of the encoder's stride)`);
      return repeat3d(x as tf.Tensor5D, f as [number, number, number]);
    }
    const s2: [number, number] = [size[0]!, size[1]!];
    return this.spec.upsample === 'nearest' ? upsampleNearest(x as tf.Tensor4D, s2) : tf.image.resizeBilinear(x as tf.Tensor4D, s2, false, true);
  }
}
