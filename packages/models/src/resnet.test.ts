import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '@tomosort/backend/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardCost } from './cost';
import { ShapeError, SpecError } from './errors';
import { ProjectionHead, ScoreHead } from './heads';
import { createModel, projectionModelSpec, scoreModelSpec, unetModelSpec } from './model';
import type { Model, ModelSpec } from './model';
import { Params } from './params';
import { ENCODER_PRESETS, ResNetEncoder, encoderSpec, featureStrides, validateEncoderSpec } from './resnet';
import { decoderLevels, unetDecoderSpec } from './unet';

beforeAll(async () => {
  await initNodeBackend('cpu'); // also registers tfjs-core's gradients
});

const shapeOf = (t: tf.Tensor) => [...t.shape];

describe('encoderSpec', () => {
  it('resnet18: basic blocks [2,2,2,2], widths [64,128,256,512], stem 7×7/2 with max-pool', () => {
    expect(encoderSpec('resnet18')).toEqual({
      kind: 'resnet',
      name: 'resnet18',
      inChannels: 1,
      block: 'basic',
      stem: { kernel: 7, stride: 2, channels: 64, maxPool: true },
      stages: [
        { blocks: 2, width: 64, stride: 1 },
        { blocks: 2, width: 128, stride: 2 },
        { blocks: 2, width: 256, stride: 2 },
        { blocks: 2, width: 512, stride: 2 },
      ],
    });
  });

  it('width 0.5 halves stem and stage widths: small → [4, 8, 16, 32], stem 4', () => {
    const s = encoderSpec('small', { width: 0.5 });
    expect(s.name).toBe('smallx0.5');
    expect(s.stem.channels).toBe(4);
    expect(s.stages.map((x) => x.width)).toEqual([4, 8, 16, 32]);
  });

  it('feature strides: resnet18 stem 2, stages [4, 8, 16, 32]; small stem 1, stages [1, 2, 4, 8]', () => {
    expect(featureStrides(encoderSpec('resnet18'))).toEqual({ stem: 2, stages: [4, 8, 16, 32] });
    expect(featureStrides(encoderSpec('small'))).toEqual({ stem: 1, stages: [1, 2, 4, 8] });
  });

  it.each([
    [{ ...encoderSpec('small'), block: 'wide' }, 'block must be "basic", "bottleneck" or "plain", got "wide"'],
    [{ ...encoderSpec('small'), stages: [] }, 'stages must be a non-empty array'],
    [{ ...encoderSpec('small'), stem: { kernel: 4, stride: 1, channels: 8, maxPool: false } }, 'stem must be {kernel (odd)'],
    [{ ...encoderSpec('small'), inChannels: 0 }, 'inChannels must be a positive integer, got 0'],
  ])('validateEncoderSpec rejects %#: %s', (spec, message) => {
    expect(() => validateEncoderSpec(spec)).toThrow(SpecError);
    expect(() => validateEncoderSpec(spec)).toThrow(message);
  });

  it('width multiplier 0 is refused', () => {
    expect(() => encoderSpec('resnet18', { width: 0 })).toThrow('width multiplier must be positive, got 0');
  });
});

describe('parameter counts', () => {
  // torchvision resnet18 (3 input channels, 1000 classes): 11,689,512 parameters, of which fc
  // 512·1000 + 1000 = 513,000 and conv1 7·7·3·64 = 9,408. One input channel keeps 7·7·1·64 = 3,136.
  const resnet18Encoder = 11_689_512 - 513_000 - (9_408 - 3_136); // 11,170,240

  it(`resnet18 encoder, 1 channel, width 1: ${resnet18Encoder.toLocaleString('en')} trainable (torchvision minus fc minus 2 input channels)`, () => {
    const params = new Params(0, { initialise: false });
    new ResNetEncoder(params, encoderSpec('resnet18'));
    expect(params.count()).toBe(resnet18Encoder);
    // plus running mean/var: 2 × (BN channels) = the BN γ/β count
    expect(params.count('all') - params.count()).toBe(9_600);
    params.dispose();
  });

  it.each([
    ['resnet18', 3, 11_689_512 - 513_000 + 513],
    ['resnet34', 3, 21_797_672 - 513_000 + 513],
    ['resnet50', 3, 25_557_032 - 2_049_000 + 2_049],
  ] as const)('%s, %i channels + score head = torchvision count − fc(1000) + fc(1) = %i', (preset, inChannels, expected) => {
    const spec = scoreModelSpec(encoderSpec(preset, { inChannels }));
    expect(forwardCost(spec, 224).params).toBe(expected);
  });

  it.each(ENCODER_PRESETS.flatMap((p) => [scoreModelSpec(encoderSpec(p)), projectionModelSpec(encoderSpec(p)), unetModelSpec(encoderSpec(p), { classes: 3 })]))(
    'forwardCost params = the built model\'s trainable count (%#)',
    (spec: ModelSpec) => {
      const model = createModel(spec, { initialise: false });
      expect(forwardCost(spec, 64).params).toBe(model.params.count());
      model.dispose();
    },
  );
});

describe('forwardCost (multiply-accumulates)', () => {
  it('resnet18, 3 channels, 224²: 1.81 G MACs — the 1.8 "GFLOPs" of He et al. / torchvision', () => {
    const c = forwardCost(scoreModelSpec(encoderSpec('resnet18', { inChannels: 3 })), 224);
    expect(c.macs / 1e9).toBeCloseTo(1.8136, 3);
    expect(c.flops).toBe(2 * c.macs);
    // stem by hand: 112·112 outputs × 7·7·3·64
    expect(c.layers.find((l) => l.name === 'encoder/stem/conv')!.macs).toBe(112 * 112 * 49 * 3 * 64);
  });

  it('resnet18, 1 channel, 128²: 0.567 G MACs (1.735 G at 224² × (128/224)²)', () => {
    const at224 = forwardCost(scoreModelSpec(encoderSpec('resnet18')), 224).macs;
    const at128 = forwardCost(scoreModelSpec(encoderSpec('resnet18')), 128).macs;
    expect(at224 / 1e9).toBeCloseTo(1.7349, 3);
    expect(at128 / 1e9).toBeCloseTo(0.5665, 3);
    expect(at128 / at224).toBeCloseTo((128 / 224) ** 2, 3);
  });

  it('resnet34 / resnet50 at 224², 3 channels: 3.66 G / 4.09 G MACs (torchvision: 3.66 / 4.09)', () => {
    expect(forwardCost(scoreModelSpec(encoderSpec('resnet34', { inChannels: 3 })), 224).macs / 1e9).toBeCloseTo(3.663, 2);
    expect(forwardCost(scoreModelSpec(encoderSpec('resnet50', { inChannels: 3 })), 224).macs / 1e9).toBeCloseTo(4.087, 2);
  });
});

describe('forward shapes', () => {
  let small: Model;
  beforeAll(() => {
    small = createModel(unetModelSpec(encoderSpec('small'), { classes: 3 }), { seed: 1 });
  });
  afterAll(() => small.dispose());

  it('small x=[2,64,64,1]: stem [2,64,64,8], stages [2,64,64,8] [2,32,32,16] [2,16,16,32] [2,8,8,64], pooled [2,64]', () => {
    tf.tidy(() => {
      const f = small.encode(tf.randomNormal([2, 64, 64, 1]) as tf.Tensor4D, { training: false });
      expect(shapeOf(f.stem)).toEqual([2, 64, 64, 8]);
      expect(f.stages.map(shapeOf)).toEqual([
        [2, 64, 64, 8],
        [2, 32, 32, 16],
        [2, 16, 16, 32],
        [2, 8, 8, 64],
      ]);
      expect(shapeOf(f.pooled)).toEqual([2, 64]);
      const cost = forwardCost(small.spec, 64);
      expect([2, ...cost.features.stem]).toEqual(shapeOf(f.stem));
      expect(cost.features.stages.map((s) => [2, ...s])).toEqual(f.stages.map(shapeOf));
    });
  });

  it('small U-Net x=[2,64,64,1] → [2,64,64,3]; odd x=[2,18,22,1] → [2,18,22,3]', () => {
    tf.tidy(() => {
      expect(shapeOf(small.apply(tf.zeros([2, 64, 64, 1]), { training: false }))).toEqual([2, 64, 64, 3]);
      expect(shapeOf(small.apply(tf.zeros([2, 18, 22, 1]), { training: true }))).toEqual([2, 18, 22, 3]);
    });
  });

  it('small score x=[3,16,16,1] → [3,1]; projection (out 128, hidden 64) → [3,128]', () => {
    for (const spec of [scoreModelSpec(encoderSpec('small')), projectionModelSpec(encoderSpec('small'))]) {
      const m = createModel(spec);
      tf.tidy(() => {
        const y = m.apply(tf.randomNormal([3, 16, 16, 1]) as tf.Tensor4D, { training: true });
        expect(shapeOf(y)).toEqual(spec.kind === 'score' ? [3, 1] : [3, 128]);
      });
      m.dispose();
    }
  });

  it('a 3-channel input to a 1-channel encoder → ShapeError naming both shapes', () => {
    tf.tidy(() => {
      const x = tf.zeros([2, 16, 16, 3]) as tf.Tensor4D;
      expect(() => small.apply(x, { training: false })).toThrow(ShapeError);
      expect(() => small.apply(x, { training: false })).toThrow('Error in encoder: expected input [N,H,W,1], got [2,16,16,3]');
    });
  });

  it('resnet18 x=[1,64,64,1] (run once): stem [1,32,32,64], stages 16² 8² 4² 2² × 64…512, pooled [1,512], U-Net [1,64,64,2], score [1,1], projection [1,128]', () => {
    const spec = unetModelSpec(encoderSpec('resnet18'), { classes: 2 });
    const model = createModel(spec, { seed: 2 });
    const heads = new Params(2);
    const score = new ScoreHead(heads, 512);
    const projection = new ProjectionHead(heads, 512, { hidden: 512, out: 128 });
    tf.tidy(() => {
      const x = tf.randomNormal([1, 64, 64, 1]) as tf.Tensor4D;
      const f = model.encode(x, { training: false });
      expect(shapeOf(f.stem)).toEqual([1, 32, 32, 64]);
      expect(f.stages.map(shapeOf)).toEqual([
        [1, 16, 16, 64],
        [1, 8, 8, 128],
        [1, 4, 4, 256],
        [1, 2, 2, 512],
      ]);
      expect(shapeOf(f.pooled)).toEqual([1, 512]);
      const cost = forwardCost(spec, 64);
      expect(cost.features.stages.map((s) => [1, ...s])).toEqual(f.stages.map(shapeOf));
      const y = model.apply(x, { training: false });
      expect(shapeOf(y)).toEqual([1, 64, 64, 2]);
      expect([1, ...cost.output]).toEqual(shapeOf(y));
      expect(shapeOf(score.apply(f.pooled))).toEqual([1, 1]);
      expect(shapeOf(projection.apply(f.pooled, { training: false }))).toEqual([1, 128]);
    });
    heads.dispose();
    model.dispose();
  });

  it('resnet18 at 40×36 (spec only): stages [10,9] [5,5] [3,3] [2,2]', () => {
    const c = forwardCost(scoreModelSpec(encoderSpec('resnet18')), [40, 36]);
    expect(c.features.stages.map((s) => [s[0], s[1]])).toEqual([
      [10, 9],
      [5, 5],
      [3, 3],
      [2, 2],
    ]);
  });
});

describe('U-Net decoder levels', () => {
  it('resnet18: skips layer3, layer2, layer1, stem, then none (to /1); widths [256,128,64,64,32]', () => {
    const e = encoderSpec('resnet18');
    expect(decoderLevels(e).map((l) => [l.skip.kind === 'stage' ? `layer${l.skip.index + 1}` : l.skip.kind, l.stride, l.skipChannels])).toEqual([
      ['layer3', 16, 256],
      ['layer2', 8, 128],
      ['layer1', 4, 64],
      ['stem', 2, 64],
      ['none', 1, 0],
    ]);
    expect(unetDecoderSpec(e, { classes: 2 }).widths).toEqual([256, 128, 64, 64, 32]);
  });

  it('resnet50: skips carry 1024, 512, 256, 64 channels; default widths [256,128,64,64,32]', () => {
    const e = encoderSpec('resnet50');
    expect(decoderLevels(e).map((l) => l.skipChannels)).toEqual([1024, 512, 256, 64, 0]);
    expect(unetDecoderSpec(e, { classes: 2 }).widths).toEqual([256, 128, 64, 64, 32]);
  });

  it('small: skips layer3, layer2, layer1 (the deeper of stem/layer1 at /1); widths [32,16,8]', () => {
    const e = encoderSpec('small');
    expect(decoderLevels(e).map((l) => l.skip)).toEqual([
      { kind: 'stage', index: 2 },
      { kind: 'stage', index: 1 },
      { kind: 'stage', index: 0 },
    ]);
    expect(unetDecoderSpec(e, { classes: 2 }).widths).toEqual([32, 16, 8]);
  });

  it('widths of the wrong length are refused', () => {
    expect(() => unetDecoderSpec(encoderSpec('small'), { classes: 2, widths: [8, 8] })).toThrow(
      'invalid U-Net decoder spec: widths must be 3 positive integers (one per level for encoder small), got [8,8]',
    );
  });
});
