import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '@tomosort/backend/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { forwardCost } from './cost';
import { ShapeError, SpecError } from './errors';
import { createModel, scoreModelSpec, unetModelSpec } from './model';
import { encoderSpec } from './resnet';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

const shapeOf = (t: tf.Tensor) => [...t.shape];

describe('3D ResNet encoders (dims 3: volumes [N, D, H, W, C])', () => {
  const spec = encoderSpec('small', { dims: 3 });

  it('the spec says 3D and keeps its name apart from the 2D preset', () => {
    expect(spec).toMatchObject({ dims: 3, name: 'small-3d' });
    expect(encoderSpec('small').dims).toBeUndefined();
  });

  it('small 3D score model x=[2,16,16,16,1]: a score per volume; feature maps as forwardCost says; every weight gets a gradient', () => {
    const model = createModel(scoreModelSpec(spec), { seed: 3 });
    const cost = forwardCost(model.spec, 16);
    tf.tidy(() => {
      const x = tf.randomNormal([2, 16, 16, 16, 1], 0, 1, 'float32', 1) as tf.Tensor5D;
      expect(shapeOf(model.apply(x, { training: true }))).toEqual([2, 1]);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training: true }))) as tf.Scalar, Object.values(model.params.trainable));
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      expect(Object.keys(grads)).toHaveLength(Object.keys(model.params.trainable).length);
    });
    const filters = Object.entries(model.params.trainable).filter(([n]) => n.endsWith('/w') && n.startsWith('encoder/'));
    expect(filters.every(([, v]) => v.rank === 5)).toBe(true);
    const params = Object.values(model.params.trainable).reduce((n, v) => n + v.size, 0);
    expect(params).toBe(cost.params);
    expect(cost.features.stages.map((s) => [...s])).toEqual([
      [16, 16, 16, 8],
      [8, 8, 8, 16],
      [4, 4, 4, 32],
      [2, 2, 2, 64],
    ]);
    model.dispose();
  });

  it('ResNet-18 3D at 64³ costs 3.93 G multiply-accumulates a volume (by hand: stem 32³·7³·64 = 0.72 G, layer1 4·16³·27·64² = 1.81 G, …)', () => {
    const c = forwardCost(scoreModelSpec(encoderSpec('resnet18', { dims: 3 })), 64);
    const stem = 32 ** 3 * 343 * 64;
    const layer1 = 4 * 16 ** 3 * 27 * 64 * 64;
    expect(c.layers.find((l) => l.name === 'encoder/stem/conv')!.macs).toBe(stem);
    expect(c.layers.filter((l) => l.name.startsWith('encoder/layer1/')).reduce((n, l) => n + l.macs, 0)).toBe(layer1);
    expect(c.macs / 1e9).toBeCloseTo(3.93, 2);
  });

  it('refuses slices with an error that says so', () => {
    const model = createModel(scoreModelSpec(spec), { seed: 3 });
    expect(() => tf.tidy(() => model.apply(tf.zeros([2, 16, 16, 1]) as tf.Tensor4D, { training: false }))).toThrow(ShapeError);
    model.dispose();
  });

  it('a 3D U-Net on unet-down: levels layer3, layer2, layer1 at 64, 32, 16; logits [N, D, H, W, classes]; params as forwardCost; every weight gets a gradient', () => {
    const e = encoderSpec('unet-down', { dims: 3, width: 0.5 });
    const model = createModel(unetModelSpec(e, { classes: 3 }), { seed: 5 });
    expect(model.spec.decoder.widths).toEqual([32, 16, 8]);
    const cost = forwardCost(model.spec, 16);
    expect(Object.values(model.params.trainable).reduce((n, v) => n + v.size, 0)).toBe(cost.params);
    expect(cost.output).toEqual([16, 16, 16, 3]);
    tf.tidy(() => {
      const x = tf.randomNormal([2, 8, 16, 16, 1], 0, 1, 'float32', 6) as tf.Tensor5D;
      const y = model.apply(x, { training: true });
      expect(shapeOf(y)).toEqual([2, 8, 16, 16, 3]);
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training: true }))) as tf.Scalar, Object.values(model.params.trainable));
      expect(Object.keys(grads)).toHaveLength(Object.keys(model.params.trainable).length);
      // 10 pools to 5, 2, 1: 2 → 5 is no whole factor
      expect(() => model.apply(tf.zeros([1, 10, 16, 16, 1]) as tf.Tensor5D, { training: false })).toThrow(/upsamples by whole factors/);
    });
    model.dispose();
    expect(() => createModel(unetModelSpec(e, { classes: 2, upsample: 'bilinear' }))).toThrow(SpecError);
  });

  it('the U-Net down path of Taleb et al. (unet-down, 3D): 8 convs in 4 levels of 16…128 filters, max-pool 2 between; 879,216 params by hand', () => {
    const e = encoderSpec('unet-down', { dims: 3 });
    expect(e).toMatchObject({ name: 'unet-down-3d', block: 'plain', stem: { kernel: 3, stride: 1, channels: 16, maxPool: false } });
    const model = createModel(scoreModelSpec(e), { seed: 1 });
    const convs = Object.keys(model.params.trainable).filter((n) => n.endsWith('/w') && n.startsWith('encoder/'));
    expect(convs).toHaveLength(8);
    // 27·(1·16 + 16·16 + 16·32 + 32·32 + 32·64 + 64·64 + 64·128 + 128·128) weights + 2·(16+16+32+32+64+64+128+128) BN
    const byHand = 27 * (16 + 256 + 512 + 1024 + 2048 + 4096 + 8192 + 16384) + 2 * 480;
    const encoderParams = Object.entries(model.params.trainable).filter(([n]) => n.startsWith('encoder/')).reduce((n, [, v]) => n + v.size, 0);
    expect(encoderParams).toBe(byHand);
    const cost = forwardCost(model.spec, 16);
    expect(cost.params).toBe(byHand + 128 + 1);
    expect(cost.features.stages.map((s) => [...s])).toEqual([
      [16, 16, 16, 16],
      [8, 8, 8, 32],
      [4, 4, 4, 64],
      [2, 2, 2, 128],
    ]);
    tf.tidy(() => {
      const x = tf.randomNormal([2, 16, 16, 16, 1], 0, 1, 'float32', 2) as tf.Tensor5D;
      const f = model.encode(x as unknown as tf.Tensor4D, { training: true });
      expect(f.stages.map((t) => [...t.shape])).toEqual(cost.features.stages.map((s) => [2, ...s]));
      // no shortcut and a ReLU last: every feature is ≥ 0
      expect(f.stages.every((t) => tf.min(t).dataSync()[0]! >= 0)).toBe(true);
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training: true }))) as tf.Scalar, Object.values(model.params.trainable));
      expect(Object.keys(grads)).toHaveLength(Object.keys(model.params.trainable).length);
    });
    model.dispose();
  });

  it('in-plane strides (CSPR): depth is never downsampled — 3-slice inputs keep depth 3 to the last stage; the U-Net upsamples in-plane only', () => {
    const e = encoderSpec('small', { dims: 3, inPlaneStrides: true });
    expect(e).toMatchObject({ name: 'small-3d-inplane', inPlaneStrides: true });
    expect(() => encoderSpec('small', { inPlaneStrides: true })).toThrow(SpecError);
    const model = createModel(scoreModelSpec(e), { seed: 7 });
    const cost = forwardCost(model.spec, [3, 16, 16]);
    expect(cost.features.stages.map((st) => [...st])).toEqual([
      [3, 16, 16, 8],
      [3, 8, 8, 16],
      [3, 4, 4, 32],
      [3, 2, 2, 64],
    ]);
    tf.tidy(() => {
      const f = model.encode(tf.randomNormal([2, 3, 16, 16, 1], 0, 1, 'float32', 8) as unknown as tf.Tensor4D, { training: true });
      expect(f.stages.map((t) => [...t.shape])).toEqual(cost.features.stages.map((st) => [2, ...st]));
    });
    model.dispose();
    const unet = createModel(unetModelSpec(e, { classes: 2 }), { seed: 7 });
    tf.tidy(() => {
      expect(shapeOf(unet.apply(tf.zeros([1, 5, 16, 16, 1]) as tf.Tensor5D, { training: false }))).toEqual([1, 5, 16, 16, 2]);
    });
    unet.dispose();
    // ResNet-18 so: the stem's 7³ conv at 3 × 16² (stride 1 × 2 × 2) costs 3·16·16·343·64 MACs
    const r18 = forwardCost(scoreModelSpec(encoderSpec('resnet18', { dims: 3, inPlaneStrides: true })), [3, 32, 32]);
    expect(r18.layers.find((l) => l.name === 'encoder/stem/conv')!.macs).toBe(3 * 16 * 16 * 343 * 64);
    expect([...r18.features.stages.at(-1)!]).toEqual([3, 1, 1, 512]);
  });
});
