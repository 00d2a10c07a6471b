import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '@tomosort/backend/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelError, SpecError, UnknownVariableError } from './errors';
import { StatUpdates } from './layers';
import { createModel, expectKind, projectionModelSpec, scoreModelSpec, unetFromEncoder, unetModelSpec, validateModelSpec } from './model';
import type { Model, ModelSpec } from './model';
import { encoderSpec } from './resnet';

beforeAll(async () => {
  await initNodeBackend('cpu'); // also registers tfjs-core's gradients
});

const small = encoderSpec('small');
const SPECS: readonly [string, ModelSpec][] = [
  ['score', scoreModelSpec(small)],
  ['projection', projectionModelSpec(small, { out: 16 })],
  ['unet', unetModelSpec(small, { classes: 2 })],
];

async function snapshot(m: Model): Promise<Record<string, number[]>> {
  return Object.fromEntries((await m.params.read()).map((a) => [a.name, Array.from(a.values)]));
}

/** A loss that is not invariant under batch norm: Σ (output · fixed random weights)². */
function lossOf(m: Model, x: tf.Tensor4D, statUpdates?: StatUpdates): tf.Scalar {
  const y = m.apply(x, { training: true, statUpdates });
  const w = tf.randomNormal(y.shape, 0, 1, 'float32', 11);
  return tf.sum(tf.square(tf.mul(y, w)));
}

describe('initialisation', () => {
  it('same seed → identical weights (small projection, seed 3); seed 4 → different conv weights', async () => {
    const spec = projectionModelSpec(small);
    const [a, b, c] = [createModel(spec, { seed: 3 }), createModel(spec, { seed: 3 }), createModel(spec, { seed: 4 })];
    const [sa, sb, sc] = await Promise.all([snapshot(a), snapshot(b), snapshot(c)]);
    expect(sa).toEqual(sb);
    expect(sa['encoder/layer1/0/conv1/w']).not.toEqual(sc['encoder/layer1/0/conv1/w']);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('the encoder weights depend on the seed only, not on the head (score vs U-Net, seed 9)', async () => {
    const s = createModel(scoreModelSpec(small), { seed: 9 });
    const u = createModel(unetModelSpec(small, { classes: 2 }), { seed: 9 });
    const [ss, su] = await Promise.all([snapshot(s), snapshot(u)]);
    for (const name of Object.keys(ss).filter((n) => n.startsWith('encoder/'))) expect(su[name]).toEqual(ss[name]);
    s.dispose();
    u.dispose();
  });

  it('batch norm starts at γ = 1, β = 0, mean 0, var 1; running statistics are not trainable', async () => {
    const m = createModel(scoreModelSpec(small));
    const v = await snapshot(m);
    expect(v['encoder/stem/bn/gamma']).toEqual(Array(8).fill(1));
    expect(v['encoder/stem/bn/beta']).toEqual(Array(8).fill(0));
    expect(v['encoder/stem/bn/mean']).toEqual(Array(8).fill(0));
    expect(v['encoder/stem/bn/var']).toEqual(Array(8).fill(1));
    expect(Object.keys(m.params.trainable)).not.toContain('encoder/stem/bn/mean');
    expect(Object.keys(m.params.state)).toContain('encoder/stem/bn/mean');
    m.dispose();
  });
});

describe('training and inference', () => {
  it('small score x=[4,16,16,1]: training and inference outputs differ; one training pass moves the running statistics', async () => {
    const m = createModel(scoreModelSpec(small), { seed: 1 });
    const x = tf.randomNormal([4, 16, 16, 1], 0.5, 2, 'float32', 5) as tf.Tensor4D;
    const infer = await m.apply(x, { training: false }).data();
    const before = await m.params.get('encoder/layer2/0/bn1/mean').data();
    const train = await m.apply(x, { training: true }).data();
    const after = await m.params.get('encoder/layer2/0/bn1/mean').data();
    expect(Array.from(train)).not.toEqual(Array.from(infer));
    expect(Array.from(after)).not.toEqual(Array.from(before));
    // inference does not move them
    await m.apply(x, { training: false }).data();
    expect(Array.from(await m.params.get('encoder/layer2/0/bn1/mean').data())).toEqual(Array.from(after));
    m.dispose();
  });

  it.each(SPECS)('%s x=[2,16,16,1]: tf.variableGrads gives a non-zero gradient for every trainable variable', (_, spec) => {
    const m = createModel(spec, { seed: 2 });
    tf.tidy(() => {
      const x = tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
      const { grads } = m.params.grads(() => lossOf(m, x));
      const trainable = Object.keys(m.params.trainable);
      expect(Object.keys(grads).sort()).toEqual([...trainable].sort());
      const zero = trainable.filter((n) => tf.max(tf.abs(grads[n]!)).dataSync()[0] === 0);
      expect(zero).toEqual([]);
    });
    m.dispose();
  });

  it.each(SPECS)('%s: no tensor leaks across forward + backward in tf.tidy (in-place and collected BN updates)', (_, spec) => {
    const m = createModel(spec, { seed: 2 });
    const x = tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const { value, grads } = m.params.grads(() => lossOf(m, x));
      tf.dispose([value, ...Object.values(grads)]);
    });
    expect(tf.memory().numTensors).toBe(before);
    const updates = new StatUpdates();
    tf.tidy(() => {
      m.params.grads(() => lossOf(m, x, updates));
    });
    updates.commit();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    m.dispose();
  });

  it('collected BN updates: the gradient step leaves running statistics untouched until commit()', async () => {
    const m = createModel(scoreModelSpec(small), { seed: 2 });
    const x = tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const mean = m.params.get('encoder/stem/bn/mean');
    const updates = new StatUpdates();
    tf.tidy(() => {
      m.params.grads(() => lossOf(m, x, updates));
    });
    expect(Array.from(await mean.data())).toEqual(Array(8).fill(0));
    updates.commit();
    expect(Array.from(await mean.data())).not.toEqual(Array(8).fill(0));
    m.dispose();
  });

  it('setTrainable("encoder/", false) freezes the encoder: gradients only for head/fc/w and head/fc/b', () => {
    const m = createModel(scoreModelSpec(small), { seed: 2 });
    const encoderWeights = Object.keys(m.params.trainable).length - 2;
    expect(m.params.setTrainable('encoder/', false)).toBe(encoderWeights);
    tf.tidy(() => {
      const { grads } = m.params.grads(() => lossOf(m, tf.randomNormal([2, 16, 16, 1]) as tf.Tensor4D));
      expect(Object.keys(grads).sort()).toEqual(['head/fc/b', 'head/fc/w']);
    });
    m.dispose();
  });
});

describe('unetFromEncoder', () => {
  it('copies every encoder variable (weights and BN statistics) of a pre-trained projection model; decoder is fresh', async () => {
    const pre = createModel(projectionModelSpec(small), { seed: 5 });
    // move the BN statistics so they are not at their initial values
    tf.tidy(() => pre.apply(tf.randomNormal([4, 16, 16, 1], 1, 2) as tf.Tensor4D, { training: true }));
    const unet = unetFromEncoder(pre, { classes: 4, seed: 77 });
    expect(unet.spec.decoder.classes).toBe(4);
    const [a, b] = await Promise.all([snapshot(pre), snapshot(unet)]);
    const encoderNames = Object.keys(a).filter((n) => n.startsWith('encoder/'));
    expect(encoderNames.length).toBeGreaterThan(40);
    for (const n of encoderNames) expect(b[n]).toEqual(a[n]);
    expect(Object.keys(b).some((n) => n.startsWith('head/'))).toBe(false);
    tf.tidy(() => {
      expect([...unet.apply(tf.zeros([1, 16, 16, 1]), { training: false }).shape]).toEqual([1, 16, 16, 4]);
    });
    // the copy is independent: changing the source leaves the U-Net alone
    pre.params.get('encoder/stem/conv/w').assign(tf.zerosLike(pre.params.get('encoder/stem/conv/w')));
    expect((await snapshot(unet))['encoder/stem/conv/w']).toEqual(a['encoder/stem/conv/w']);
    pre.dispose();
    unet.dispose();
  });
});

describe('U-Net classifier input', () => {
  // β = −100 on the last level's second batch norm puts every channel of every pixel below 0
  // before its ReLU: the dead-feature state in which the small U-Net's rarer classes stayed.
  const deadLastLevel = (m: Model) => {
    const beta = m.params.get('decoder/level2/bn2/beta');
    beta.assign(tf.fill(beta.shape, -100));
  };
  const x = () => tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
  const gradNorms = (m: Model): Record<string, number> =>
    tf.tidy(() => {
      const { value, grads } = m.params.grads(() => lossOf(m, x()));
      value.dispose();
      return Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, tf.max(tf.abs(g)).dataSync()[0]!]));
    });

  it("'relu', and a spec saved without the field: all-zero features give the bias as logits and no weight a gradient (small, classes 3, x=[2,16,16,1])", () => {
    const spec = unetModelSpec(small, { classes: 3, classifierInput: 'relu' });
    const { classifierInput: _, ...decoder } = spec.decoder;
    for (const s of [spec, { ...spec, decoder }]) {
      const m = createModel(s, { seed: 1 });
      deadLastLevel(m);
      tf.tidy(() => {
        const logits = m.apply(x(), { training: true });
        const bias = m.params.get('decoder/classifier/b');
        expect(tf.max(tf.abs(tf.sub(logits, bias))).dataSync()[0]).toBe(0);
      });
      const g = gradNorms(m);
      expect(g['decoder/classifier/b']).toBeGreaterThan(0);
      expect(Object.entries(g).filter(([n, v]) => n !== 'decoder/classifier/b' && v !== 0)).toEqual([]);
      m.dispose();
    }
  });

  it("'linear' (the default): the same state still sends a gradient to every trainable variable", () => {
    const spec = unetModelSpec(small, { classes: 3 });
    expect(spec.decoder.classifierInput).toBe('linear');
    const m = createModel(spec, { seed: 1 });
    deadLastLevel(m);
    const g = gradNorms(m);
    expect(Object.keys(g).length).toBe(Object.keys(m.params.trainable).length);
    expect(Object.entries(g).filter(([, v]) => !(v > 0))).toEqual([]);
    m.dispose();
  });

  it('any other classifierInput is refused', () => {
    const spec = unetModelSpec(small, { classes: 3 });
    expect(() => validateModelSpec({ ...spec, decoder: { ...spec.decoder, classifierInput: 'tanh' } })).toThrow(
      'invalid U-Net decoder spec: classifierInput must be "linear" or "relu", got "tanh"',
    );
  });
});

describe('model specs', () => {
  it('expectKind narrows a loaded model and refuses another kind', () => {
    const m: Model = createModel(scoreModelSpec(small));
    expect(expectKind(m, 'score').spec.kind).toBe('score');
    expect(() => expectKind(m, 'unet')).toThrow(ModelError);
    expect(() => expectKind(m, 'unet')).toThrow('expected a unet model, got a score model (encoder small)');
    m.dispose();
  });

  it('validateModelSpec rejects kind "classifier" and a projection head without out', () => {
    expect(() => validateModelSpec({ kind: 'classifier', encoder: small })).toThrow(SpecError);
    expect(() => validateModelSpec({ kind: 'projection', encoder: small, head: { hidden: 8 } })).toThrow('invalid projection head spec');
  });

  it('specs are JSON round-trippable', () => {
    for (const [, spec] of SPECS) expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
  });

  it('a disposed model refuses to be read; an unknown variable is named', async () => {
    const m = createModel(scoreModelSpec(small));
    expect(() => m.params.get('encoder/nope/w')).toThrow(UnknownVariableError);
    expect(() => m.params.get('encoder/nope/w')).toThrow('no variable named encoder/nope/w');
    m.dispose();
    await expect(m.params.read()).rejects.toThrow('this parameter store was disposed');
  });
});

describe("createModel({ convGradients: 'stock' })", () => {
  it('gives the same gradients as the fast path (small score model, x=[2,16,16,1], cpu)', async () => {
    const spec = scoreModelSpec(encoderSpec('small'));
    const x = tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const grads = async (convGradients: 'fast' | 'stock') => {
      const m = createModel(spec, { seed: 5, convGradients });
      const { grads: g } = m.params.grads(() => tf.sum(m.apply(x, { training: false })) as tf.Scalar);
      const out: Record<string, number[]> = {};
      for (const [k, t] of Object.entries(g)) out[k] = [...((await t.data()) as Float32Array)];
      tf.dispose(Object.values(g));
      m.dispose();
      return out;
    };
    const fast = await grads('fast');
    const stock = await grads('stock');
    expect(Object.keys(stock).sort()).toEqual(Object.keys(fast).sort());
    for (const [k, v] of Object.entries(fast)) v.forEach((a, n) => expect(Math.abs(a - stock[k]![n]!)).toBeLessThan(1e-4));
  });
});
