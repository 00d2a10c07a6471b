import { SpecError } from './errors';
import type { ModelSpec } from './model';
import { BLOCK_EXPANSION, featureDim } from './resnet';
import { decoderLevels } from './unet';

/** `[H, W, C]` of one image's feature map (`[D, H, W, C]` for a 3D encoder). */
export type MapShape = readonly [number, number, number] | readonly [number, number, number, number];

/** Cost of one conv or linear layer, named like its variables (`encoder/layer1/0/conv1`). */
export interface LayerCost {
  readonly name: string;
  /** Multiply-accumulates per image. */
  readonly macs: number;
  /** Trainable values (weights + bias). */
  readonly params: number;
}

/** What one forward pass of one image costs, from the spec alone (no variables are built). */
export interface ForwardCost {
  /**
   * Multiply-accumulates of every conv and linear per image: the "FLOPs" of the ResNet paper and
   * torchvision tables (ResNet-18, 3 channels, 224²: 1.8 G). Batch norm, ReLU, pooling, additions
   * and resizing are not counted.
   */
  readonly macs: number;
  /** 2 × macs: floating-point operations, for GFLOP/s figures. A training step costs about 3× a forward pass. */
  readonly flops: number;
  /** Trainable parameters (convs, linears, batch-norm γ and β); running statistics excluded. */
  readonly params: number;
  /** Feature map shapes: after the stem, and after each stage. */
  readonly features: { readonly stem: MapShape; readonly stages: readonly MapShape[] };
  /** Per-image output shape: `[1]`, `[out]` or `[H, W, classes]`. */
  readonly output: readonly number[];
  readonly layers: readonly LayerCost[];
}

/**
 * Counts multiply-accumulates and parameters of `spec` for `size` (square side or `[H, W]`; a
 * cube side for a 3D encoder) inputs, following the same architecture as {@link createModel}
 * (tests check both agree). ResNet-18 with 1 input channel: ≈ 1.74 G MACs at 224², ≈ 0.57 G at
 * 128²; its 3D version ≈ 3.9 G MACs at 64³.
 */
export function forwardCost(spec: ModelSpec, size: number | readonly [number, number] | readonly [number, number, number]): ForwardCost {
  const dims = spec.encoder.dims ?? 2;
  if (typeof size !== 'number' && size.length === 3 && dims !== 3) throw new SpecError(`a 2D encoder takes [H, W], got [${size.join(', ')}]`);
  // 3D: a cube side, or [D, H, W]
  const [D, H, W] = typeof size === 'number' ? [size, size, size] : size.length === 3 ? size : [size[0], size[0], size[1]];
  if (![D, H, W].every((n) => Number.isInteger(n) && n > 0)) throw new SpecError(`input size must be positive integers, got ${String(size)}`);
  if (dims === 3 && typeof size !== 'number' && size.length === 2) throw new SpecError(`a 3D encoder takes a cube side or [D, H, W], got [${size.join(', ')}]`);
  // Strides along depth too, unless the encoder strides in-plane only.
  const depthStrides = dims === 3 && !spec.encoder.inPlaneStrides;
  const layers: LayerCost[] = [];
  let bnParams = 0;
  const channels = (x: MapShape) => x[x.length - 1]!;
  const conv = (name: string, x: MapShape, kernel: number, outC: number, stride = 1, bias = false): MapShape => {
    const spatial = x.slice(0, -1).map((n, a) => (dims === 3 && a === 0 && !depthStrides ? n : Math.ceil(n / stride)));
    const out = [...spatial, outC] as unknown as MapShape;
    const taps = kernel ** spatial.length;
    layers.push({ name, macs: spatial.reduce((a, b) => a * b, 1) * taps * channels(x) * outC, params: taps * channels(x) * outC + (bias ? outC : 0) });
    return out;
  };
  const bn = (channels: number) => (bnParams += 2 * channels);
  const linear = (name: string, inF: number, outF: number, bias = true) => layers.push({ name, macs: inF * outF, params: inF * outF + (bias ? outF : 0) });
  const convBn = (name: string, x: MapShape, kernel: number, outC: number, stride = 1): MapShape => {
    bn(outC);
    return conv(name, x, kernel, outC, stride);
  };

  const e = spec.encoder;
  const input: MapShape = dims === 3 ? [D, H, W, e.inChannels] : [H, W, e.inChannels];
  const stem = convBn('encoder/stem/conv', input, e.stem.kernel, e.stem.channels, e.stem.stride);
  const pooled = (x: MapShape, f: number, round: (v: number) => number) => [...x.slice(0, -1).map((n, a) => (dims === 3 && a === 0 && !depthStrides ? n : round(n / f))), channels(x)] as unknown as MapShape;
  let h: MapShape = e.stem.maxPool ? pooled(stem, 2, Math.ceil) : stem;
  const stages: MapShape[] = [];
  e.stages.forEach((st, i) => {
    for (let j = 0; j < st.blocks; j++) {
      const name = `encoder/layer${i + 1}/${j}`;
      const stride = j === 0 ? st.stride : 1;
      const outC = st.width * BLOCK_EXPANSION[e.block];
      const x = h;
      if (e.block === 'plain') {
        h = convBn(`${name}/conv1`, pooled(x, stride, Math.floor), 3, st.width);
        continue;
      }
      if (e.block === 'basic') {
        h = convBn(`${name}/conv2`, convBn(`${name}/conv1`, x, 3, st.width, stride), 3, st.width);
      } else {
        h = convBn(`${name}/conv3`, convBn(`${name}/conv2`, convBn(`${name}/conv1`, x, 1, st.width), 3, st.width, stride), 1, outC);
      }
      if (stride !== 1 || channels(x) !== outC) convBn(`${name}/down/conv`, x, 1, outC, stride);
    }
    stages.push(h);
  });

  let output: number[];
  switch (spec.kind) {
    case 'score':
      linear('head/fc', featureDim(e), 1);
      output = [1];
      break;
    case 'projection':
      linear('head/fc1', featureDim(e), spec.head.hidden, false);
      bn(spec.head.hidden);
      linear('head/fc2', spec.head.hidden, spec.head.out);
      output = [spec.head.out];
      break;
    case 'classifier':
      linear('head/fc1', spec.head.patches * featureDim(e), spec.head.hidden);
      linear('head/fc2', spec.head.hidden, spec.head.classes);
      output = [spec.head.classes];
      break;
    case 'cpc': {
      const { code, grid, contextRows } = spec.head;
      linear('head/code', featureDim(e), code);
      // the GRU's input and hidden weights, counted per step it runs (MACs) but stored once
      layers.push({ name: 'head/gru', macs: contextRows * 2 * code * 3 * code, params: 2 * code * 3 * code + 6 * code });
      for (let k = 0; k < grid - contextRows; k++) linear(`head/predict${k}`, code, code, false);
      output = [2 * code];
      break;
    }
    case 'unet': {
      const full = input.slice(0, -1);
      decoderLevels(e).forEach((level, k) => {
        const skip = level.skip.kind === 'stem' ? stem : level.skip.kind === 'stage' ? stages[level.skip.index]! : undefined;
        const w = spec.decoder.widths[k]!;
        const x = [...(skip ? skip.slice(0, -1) : full), channels(h) + (skip ? channels(skip) : 0)] as unknown as MapShape;
        h = convBn(`decoder/level${k}/conv2`, convBn(`decoder/level${k}/conv1`, x, 3, w), 3, w);
      });
      h = conv('decoder/classifier', [...full, channels(h)] as unknown as MapShape, 1, spec.decoder.classes, 1, true);
      output = [...h];
      break;
    }
  }
  const macs = layers.reduce((n, l) => n + l.macs, 0);
  const params = layers.reduce((n, l) => n + l.params, 0) + bnParams;
  return { macs, flops: 2 * macs, params, features: { stem, stages }, output, layers };
}
