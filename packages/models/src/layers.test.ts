import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '@tomosort/backend/node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm, Conv2d, Conv3d, StatUpdates } from './layers';
import { Params } from './params';

beforeAll(async () => {
  await initNodeBackend('cpu'); // also registers tfjs-core's gradients
});

let params: Params;
afterEach(() => params?.dispose());

const values = async (t: tf.Tensor) => Array.from(await t.data());

describe('BatchNorm', () => {
  // x = [1, 2, 3, 4] (one channel): batch mean 2.5, biased var 1.25, unbiased var 5/3.
  const x = () => tf.tensor2d([[1], [2], [3], [4]]);

  it('training x=[4,1]: normalises with batch moments; running mean 0 → 0.25, var 1 → 0.9 + 0.1·5/3', async () => {
    params = new Params();
    const bn = new BatchNorm(params, 'bn', 1);
    const y = bn.apply(x(), { training: true });
    const s = Math.sqrt(1.25 + 1e-5);
    const got = await values(y);
    [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s].forEach((e, i) => expect(got[i]).toBeCloseTo(e, 5));
    expect((await values(bn.mean))[0]).toBeCloseTo(0.25, 6);
    expect((await values(bn.variance))[0]).toBeCloseTo(0.9 + 0.1 * (5 / 3), 6);
  });

  it('inference x=[4,1]: uses the running statistics (0, 1) and leaves them alone', async () => {
    params = new Params();
    const bn = new BatchNorm(params, 'bn', 1);
    const got = await values(bn.apply(x(), { training: false }));
    [1, 2, 3, 4].forEach((v, i) => expect(got[i]).toBeCloseTo(v / Math.sqrt(1 + 1e-5), 5));
    expect(await values(bn.mean)).toEqual([0]);
    expect(await values(bn.variance)).toEqual([1]);
  });

  it('StatUpdates: nothing moves until commit; two passes chain 0 → 0.25 → 0.475 as in-place updates would', async () => {
    params = new Params();
    const bn = new BatchNorm(params, 'bn', 1);
    const updates = new StatUpdates();
    tf.tidy(() => {
      bn.apply(x(), { training: true, statUpdates: updates });
      bn.apply(x(), { training: true, statUpdates: updates });
    });
    expect(await values(bn.mean)).toEqual([0]);
    expect(updates.size).toBe(2);
    const before = tf.memory().numTensors;
    updates.commit();
    expect(tf.memory().numTensors).toBe(before - 4);
    expect((await values(bn.mean))[0]).toBeCloseTo(0.475, 6);
  });

  it('training on [1,1,1,2] (one value per channel) is refused', () => {
    params = new Params();
    const bn = new BatchNorm(params, 'enc/bn', 2);
    expect(() => bn.apply(tf.ones([1, 1, 1, 2]) as tf.Tensor4D, { training: true })).toThrow(
      'enc/bn: batch norm in training needs more than one value per channel, got input [1,1,1,2]',
    );
  });
});

describe('Conv2d', () => {
  it('x=[1,4,4,1] f=[3,3,1,1] s=2 pads 1 on every side like PyTorch: ones filter sums the 3×3 window centred on (2i, 2j)', async () => {
    params = new Params();
    const conv = new Conv2d(params, 'c', { kernel: 3, inC: 1, outC: 1, stride: 2 });
    conv.w.assign(tf.ones([3, 3, 1, 1]));
    const x = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]);
    const y = conv.apply(x);
    expect(y.shape).toEqual([1, 2, 2, 1]);
    // centre (0,0): rows −1..1, cols −1..1 → 0+1+4+5; (0,2): 1+2+3+5+6+7; (2,0): 4+5+8+9+12+13; (2,2): 5+6+7+9+10+11+13+14+15
    expect(await values(y)).toEqual([10, 24, 51, 90]);
  });

  it('x=[1,5,5,2] f=[1,1,2,3] s=2 → [1,3,3,3] sampling rows/cols 0, 2, 4', async () => {
    params = new Params();
    const conv = new Conv2d(params, 'c', { kernel: 1, inC: 2, outC: 3, stride: 2 });
    expect(conv.apply(tf.zeros([1, 5, 5, 2]) as tf.Tensor4D).shape).toEqual([1, 3, 3, 3]);
  });

  it.each([
    { dims: 2, parts: [[2, 6, 6, 3], [2, 6, 6, 2]] },
    { dims: 3, parts: [[1, 4, 4, 4, 2], [1, 4, 4, 4, 3]] },
  ])('applyJoined($dims D, parts $parts) equals apply(concat): value, filter and part gradients within 5e-5 of the largest (sums in another order; measured ≤ 1.1e-5)', async (c) => {
    params = new Params(5);
    const inC = c.parts.reduce((n, p) => n + p.at(-1)!, 0);
    const conv = c.dims === 2 ? new Conv2d(params, 'c', { kernel: 3, inC, outC: 4, bias: true }) : new Conv3d(params, 'c', { kernel: 3, inC, outC: 4 });
    const parts = c.parts.map((shape, i) => tf.randomNormal(shape, 0, 1, 'float32', 10 + i));
    const r = tf.randomNormal([...c.parts[0]!.slice(0, -1), 4], 0, 1, 'float32', 9);
    const run = (joined: boolean) => {
      const loss = (...xs: tf.Tensor[]) => {
        const y = conv instanceof Conv2d ? (joined ? conv.applyJoined(xs as tf.Tensor4D[]) : conv.apply(tf.concat(xs, -1) as tf.Tensor4D)) : joined ? conv.applyJoined(xs as tf.Tensor5D[]) : conv.apply(tf.concat(xs, -1) as tf.Tensor5D);
        return tf.sum(tf.mul(y, r)) as tf.Scalar;
      };
      const { value, grads } = params.grads(() => loss(...parts));
      return [value, grads['c/w']!, ...tf.grads(loss)(parts)];
    };
    const ours = run(true);
    const theirs = run(false);
    for (const [i, t] of ours.entries()) {
      const want = await values(theirs[i]!);
      const got = await values(t);
      const scale = Math.max(...want.map(Math.abs));
      got.forEach((g, k) => expect(Math.abs(g - want[k]!) / scale).toBeLessThanOrEqual(5e-5));
    }
    expect(() => (conv instanceof Conv2d ? conv.applyJoined([parts[0] as tf.Tensor4D]) : conv.applyJoined([parts[0] as tf.Tensor5D]))).toThrow(`the parts have ${c.parts[0]!.at(-1)} channels in all, the filter takes ${inC}`);
  });

  it('even kernels are refused', () => {
    params = new Params();
    expect(() => new Conv2d(params, 'c', { kernel: 2, inC: 1, outC: 1 })).toThrow('c: kernel must be odd, got 2');
  });

  it('gradient of x=[1,5,5,2] f=[3,3,2,2] s=2 matches central finite differences (filter and input)', async () => {
    params = new Params(3);
    const conv = new Conv2d(params, 'c', { kernel: 3, inC: 2, outC: 2, stride: 2 });
    const weights = tf.randomNormal([1, 3, 3, 2], 0, 1, 'float32', 2);
    const x0 = await tf.randomNormal([1, 5, 5, 2], 0, 1, 'float32', 1).data();
    const w0 = (await conv.w.data()).slice();
    const x = tf.tensor4d(x0, [1, 5, 5, 2]);
    const loss = (xx: tf.Tensor4D) => tf.sum(tf.mul(conv.apply(xx), weights)) as tf.Scalar;

    const { grads } = params.grads(() => loss(x));
    const gw = await grads['c/w']!.data();
    const gx = await tf.grad((xx) => loss(xx as tf.Tensor4D))(x).data();

    const eps = 1e-2;
    const central = (f: (d: number) => number) => (f(eps) - f(-eps)) / (2 * eps);
    const lossWithFilter = (i: number) => (d: number) => {
      const w = w0.slice();
      w[i]! += d;
      conv.w.assign(tf.tensor4d(w, [3, 3, 2, 2]));
      return loss(x).dataSync()[0]!;
    };
    const lossWithInput = (i: number) => (d: number) => {
      const a = x0.slice();
      a[i]! += d;
      return loss(tf.tensor4d(a, [1, 5, 5, 2])).dataSync()[0]!;
    };
    for (const i of [0, 7, 20, 35]) expect(gw[i]).toBeCloseTo(central(lossWithFilter(i)), 2);
    conv.w.assign(tf.tensor4d(w0, [3, 3, 2, 2]));
    for (const i of [0, 12, 24, 49]) expect(gx[i]).toBeCloseTo(central(lossWithInput(i)), 2);
  });
});
