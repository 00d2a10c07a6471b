import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { prepareVolume } from '@tomosort/pretext';
import { fillGaussian, mulberry32 } from '@tomosort/random';
import { phantomSubject } from '@tomosort/samples';
import { BLANK_FRACTION, isBlankSlice, scoreVolume } from './index';

const S = 32;
const slice = (fill: (i: number, j: number) => number) => Float32Array.from({ length: S * S }, (_, n) => fill(n % S, Math.floor(n / S)));

describe(`isBlankSlice (windowed ${S}² slices; blank below ${BLANK_FRACTION * S * S} structured pixels)`, () => {
  const rng = mulberry32(4);
  it.each([
    ['all 0 (air under a soft-tissue window)', slice(() => 0), true],
    ['constant 0.4 (padding)', slice(() => 0.4), true],
    ['air noise in a wide window (sd 0.005)', slice(() => 0.25 + 0.005 * (rng() - 0.5) * 3.46), true],
    ['5 tissue pixels', slice((i, j) => (j === 0 && i < 5 ? 0.5 : 0)), true],
    ['6 tissue pixels', slice((i, j) => (j === 0 && i < 6 ? 0.5 : 0)), false],
    ['a body disk of radius 10', slice((i, j) => ((i - 16) ** 2 + (j - 16) ** 2 < 100 ? 0.45 : 0)), false],
  ] as const)('%s → %s', (_, x, blank) => expect(isBlankSlice(x)).toBe(blank));
});

describe('scoreVolume marks blank slices', () => {
  it(`a phantom subject (${S}², window 40/400) with 3 air slices added below and 2 above: exactly those blank`, async () => {
    await tf.setBackend('cpu');
    const s = phantomSubject(2, 1, { size: S });
    const p = prepareVolume(s.id, s.volume, { plane: 'axial', size: S });
    const plane = S * S;
    const data = fillGaussian(mulberry32(9), new Float32Array((p.slices + 5) * plane));
    for (let n = 0; n < data.length; n++) data[n] = -1000 + 10 * data[n]!;
    data.set(p.data, 3 * plane);
    const padded = { ...p, slices: p.slices + 5, data, firstMm: p.firstMm - 3 * p.spacingMm };
    const tensors = tf.memory().numTensors;
    const mean = { apply: (x: tf.Tensor4D) => tf.mean(x, [1, 2, 3]) };
    const r = await scoreVolume(mean, padded, { center: 40, width: 400 }, 16);
    expect(tf.memory().numTensors).toBe(tensors);
    const blank = [...r.blank.keys()].filter((k) => r.blank[k]);
    expect(blank).toEqual([0, 1, 2, p.slices + 3, p.slices + 4]);
    expect(r.positionsMm[3]).toBeCloseTo(p.firstMm, 9);
    expect(r.scores[0]).toBe(0);
  });
});
