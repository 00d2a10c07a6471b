import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '@tomosort/backend/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { kaimingNormalConv, normal, ones, randomFor, torchDefault, zeros } from './init';
import { Params } from './params';

beforeAll(async () => {
  await initNodeBackend('cpu'); // also registers tfjs-core's gradients
});

const stats = (a: Float32Array) => {
  let m = 0;
  for (const v of a) m += v;
  m /= a.length;
  let s = 0;
  for (const v of a) s += (v - m) ** 2;
  return { mean: m, std: Math.sqrt(s / a.length) };
};

describe('randomFor', () => {
  it('same (seed, name) → the same stream; another name or seed → another stream', () => {
    const draw = (seed: number, name: string) => Array.from({ length: 5 }, randomFor(seed, name).uniform);
    expect(draw(7, 'encoder/stem/conv/w')).toEqual(draw(7, 'encoder/stem/conv/w'));
    expect(draw(7, 'encoder/stem/conv/w')).not.toEqual(draw(7, 'encoder/stem/conv/b'));
    expect(draw(7, 'encoder/stem/conv/w')).not.toEqual(draw(8, 'encoder/stem/conv/w'));
  });

  it('uniform() lies in [0, 1) with mean ≈ 0.5; normal() has mean ≈ 0, std ≈ 1 (n = 100 000)', () => {
    const r = randomFor(1, 'x');
    const u = Float32Array.from({ length: 100_000 }, r.uniform);
    expect(u.every((a) => a >= 0 && a < 1)).toBe(true);
    expect(stats(u).mean).toBeCloseTo(0.5, 2);
    const n = normal(1)([100_000], randomFor(1, 'y'));
    expect(stats(n).mean).toBeCloseTo(0, 2);
    expect(stats(n).std).toBeCloseTo(1, 2);
  });
});

describe('initialisers', () => {
  it('zeros([2,3]) and ones([4]) are exact', () => {
    expect([...zeros([2, 3], randomFor(0, ''))]).toEqual([0, 0, 0, 0, 0, 0]);
    expect([...ones([4], randomFor(0, ''))]).toEqual([1, 1, 1, 1]);
  });

  it('kaimingNormalConv [3,3,256,512] has std √(2/fan_out) = √(2/4608) ≈ 0.02083 within 1 %', () => {
    const shape = [3, 3, 256, 512];
    const { mean, std } = stats(kaimingNormalConv(shape)(shape, randomFor(0, 'w')));
    expect(Math.abs(mean)).toBeLessThan(1e-4);
    expect(std / Math.sqrt(2 / 4608)).toBeGreaterThan(0.99);
    expect(std / Math.sqrt(2 / 4608)).toBeLessThan(1.01);
  });

  it('torchDefault(fan_in 512) stays within ±1/√512 with std bound/√3', () => {
    const v = torchDefault(512)([512, 256], randomFor(0, 'fc'));
    const bound = 1 / Math.sqrt(512);
    expect(v.reduce((m, a) => Math.max(m, Math.abs(a)), 0)).toBeLessThanOrEqual(bound);
    expect(stats(v).std / (bound / Math.sqrt(3))).toBeCloseTo(1, 1);
  });

  it('a Params variable holds exactly the initialiser values (seed 5, name a/w, [3,3,1,4])', async () => {
    const p = new Params(5);
    const shape = [3, 3, 1, 4];
    const v = p.add('a/w', shape, kaimingNormalConv(shape));
    expect(await v.data()).toEqual(kaimingNormalConv(shape)(shape, randomFor(5, 'a/w')));
    p.dispose();
  });
});
