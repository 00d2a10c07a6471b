import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { OpArgumentError } from '../errors';
import { initNodeBackend } from '../node';
import { CONV_CASES, caseData, caseName, ourGrads, randomNormal, relativeError, stockGrads } from '../testing/conv2dCases';
import { conv2d, conv2dGeometry } from './conv2d';
import type { Conv2DPad, Pair } from './conv2d';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

/** Gradients of Σ conv(x, w) · r (r = 1 when omitted) w.r.t. x and w, as nested arrays of [h][w] (batch 1, 1 channel in and out). */
function grads2d(x: number[][], w: number[][], strides: Pair, pad: Conv2DPad): { dx: number[][]; dw: number[][] } {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x.flat(), [1, x.length, x[0]!.length, 1]);
    const wt = tf.tensor4d(w.flat(), [w.length, w[0]!.length, 1, 1]);
    const [dx, dw] = tf.grads((a: Tensor, b: Tensor) => tf.sum(conv2d(a as Tensor4D, b as Tensor4D, strides, pad)))([xt, wt]);
    return {
      dx: (tf.reshape(dx!, [x.length, x[0]!.length]).arraySync() as number[][]),
      dw: (tf.reshape(dw!, [w.length, w[0]!.length]).arraySync() as number[][]),
    };
  });
}

describe('conv2d gradients: hand-computed', () => {
  it('x=[1,3,3,1] (1…9) f=[2,2,1,1] ones s=1 valid: dW = window sums [[12,16],[24,28]], dx = window counts', () => {
    const { dx, dw } = grads2d(
      [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ],
      [
        [1, 1],
        [1, 1],
      ],
      1,
      'valid',
    );
    expect(dw).toEqual([
      [12, 16],
      [24, 28],
    ]);
    expect(dx).toEqual([
      [1, 2, 1],
      [2, 4, 2],
      [1, 2, 1],
    ]);
  });

  it('x=[1,4,4,1] (1…16) f=[3,3,1,1] ones s=2 same: pads 0 before and 1 after, so the last filter row reads x row 2 only', () => {
    // Output rows read x rows {0,1,2} and {2,3,pad}: filter row a sees rows {0,2}, {1,3}, {2}.
    // dW[a][b] = Σ x[r][c] over r ∈ R(a), c ∈ R(b), with x[r][c] = 4r + c + 1.
    const x = [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => 4 * r + c + 1));
    const ones3 = [
      [1, 1, 1],
      [1, 1, 1],
      [1, 1, 1],
    ];
    const { dx, dw } = grads2d(x, ones3, 2, 'same');
    expect(dw).toEqual([
      [24, 28, 14],
      [40, 44, 22],
      [20, 22, 11],
    ]);
    // Row r is covered by 1, 1, 2, 1 windows (row 2 by both); dx = cover(r) · cover(c).
    expect(dx).toEqual([
      [1, 1, 2, 1],
      [1, 1, 2, 1],
      [2, 2, 4, 2],
      [1, 1, 2, 1],
    ]);
  });
});

describe('conv2d gradients equal tfjs’ own (cpu, Conv2DBackpropFilter/Input) within 1e-4', () => {
  for (const c of CONV_CASES) {
    it(caseName(c), async () => {
      const d = caseData(c);
      const ref = await stockGrads(c, d);
      const ours = await ourGrads(c, d);
      expect(relativeError(ours.y, ref.y)).toBe(0); // the forward pass is tf.conv2d itself
      expect(relativeError(ours.dx, ref.dx)).toBeLessThan(1e-4);
      expect(relativeError(ours.dw, ref.dw)).toBeLessThan(1e-4);
    });
  }
});

/** Float64 reference of L = Σ sin(conv(x, w)) · r, with explicit pads, for the finite-difference check. */
function lossF64(
  x: Float64Array,
  w: Float64Array,
  r: Float64Array,
  [h, wd, c]: readonly [number, number, number],
  [fh, fw, o]: readonly [number, number, number],
  s: number,
  [oh, ow]: readonly [number, number],
  [top, left]: readonly [number, number],
): number {
  let loss = 0;
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      for (let q = 0; q < o; q++) {
        let y = 0;
        for (let a = 0; a < fh; a++) {
          for (let b = 0; b < fw; b++) {
            const row = i * s + a - top;
            const col = j * s + b - left;
            if (row < 0 || row >= h || col < 0 || col >= wd) continue;
            for (let k = 0; k < c; k++) y += x[(row * wd + col) * c + k]! * w[((a * fw + b) * c + k) * o + q]!;
          }
        }
        loss += Math.sin(y) * r[(i * ow + j) * o + q]!;
      }
    }
  }
  return loss;
}

describe('conv2d gradients: central differences in float64', () => {
  const cases = [
    { x: [1, 5, 5, 2], f: [3, 3, 2, 2], pads: [1, 1], why: 'pads 1 and 1' },
    { x: [1, 6, 6, 1], f: [3, 3, 1, 2], pads: [0, 0], why: 'pads 0 before, 1 after' },
  ] as const;
  for (const c of cases) {
    it(`x=[${c.x.join(',')}] f=[${c.f.join(',')}] s=2 same (${c.why}), L = Σ sin(conv) · r: every dL/dx and dL/dw within 1e-4`, () => {
      const g = conv2dGeometry(c.x, c.f, 2, 'same');
      expect([g.top, g.left]).toEqual(c.pads);
      const xs = randomNormal(c.x.reduce((a: number, b: number) => a * b, 1), 11);
      const ws = randomNormal(c.f.reduce((a: number, b: number) => a * b, 1), 12);
      const rs = randomNormal(g.outH * g.outW * g.outC, 13);
      const [dx, dw] = tf.tidy(() => {
        const r = tf.tensor4d(rs, [1, g.outH, g.outW, g.outC]);
        const f = (a: Tensor, b: Tensor): Tensor => tf.sum(tf.mul(tf.sin(conv2d(a as Tensor4D, b as Tensor4D, 2, 'same')), r));
        return tf.grads(f)([tf.tensor4d(xs, [...c.x]), tf.tensor4d(ws, [...c.f])]).map((t) => t.dataSync() as Float32Array);
      });
      const x = Float64Array.from(xs);
      const w = Float64Array.from(ws);
      const r = Float64Array.from(rs);
      const loss = (): number =>
        lossF64(x, w, r, [c.x[1], c.x[2], c.x[3]], [c.f[0], c.f[1], c.f[3]], 2, [g.outH, g.outW], [g.top, g.left]);
      const h = 1e-5;
      const central = (v: Float64Array, i: number): number => {
        const keep = v[i]!;
        v[i] = keep + h;
        const up = loss();
        v[i] = keep - h;
        const down = loss();
        v[i] = keep;
        return (up - down) / (2 * h);
      };
      const fdX = Array.from(x, (_, i) => central(x, i));
      const fdW = Array.from(w, (_, i) => central(w, i));
      expect(relativeError(dx!, Float32Array.from(fdX))).toBeLessThan(1e-4);
      expect(relativeError(dw!, Float32Array.from(fdW))).toBeLessThan(1e-4);
    });
  }
});

describe('conv2d gradients run on forward kernels only', () => {
  it('x=[2,8,8,3] f=[3,3,3,4] s=2 same and s=1 same: no Conv2DBackpropFilter or Conv2DBackpropInput kernel', async () => {
    const x = tf.tensor4d(randomNormal(2 * 8 * 8 * 3, 3), [2, 8, 8, 3]);
    const w = tf.tensor4d(randomNormal(3 * 3 * 3 * 4, 4), [3, 3, 3, 4]);
    for (const s of [1, 2]) {
      const info = await tf.profile(() =>
        tf.grads((a: Tensor, b: Tensor) => tf.sum(conv2d(a as Tensor4D, b as Tensor4D, s, 'same')))([x, w]),
      );
      expect(info.kernelNames).toContain('Conv2D');
      expect(info.kernelNames).not.toContain('Conv2DBackpropFilter');
      expect(info.kernelNames).not.toContain('Conv2DBackpropInput');
    }
    tf.dispose([x, w]);
  });

  // The copies the wasm backend runs slowly (PadV2, and Pack / Slice over channels-last rows)
  // are folded into the convs: their own padding, and the strided input gradient's phases as
  // channels of one conv, interleaved by one Transpose (of a 4D view with the phases' channels).
  it.each([
    { x: [2, 8, 8, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' as const, convs: 3, phases: false },
    { x: [2, 8, 8, 3], f: [3, 3, 3, 4], s: 2, pad: 'same' as const, convs: 3, phases: true },
    { x: [2, 8, 8, 3], f: [3, 3, 3, 4], s: 2, pad: 1, convs: 3, phases: true },
    { x: [2, 16, 16, 1], f: [7, 7, 1, 8], s: 2, pad: 3, convs: 3, phases: true },
    // An odd size is not whole s × s blocks: one conv per phase (4), then Pack and Slice.
    { x: [2, 7, 7, 3], f: [3, 3, 3, 4], s: 2, pad: 'same' as const, convs: 6, phases: false },
  ])('x=$x f=$f s=$s pad=$pad: $convs Conv2D; phases as channels: $phases', async (c) => {
    const x = tf.tensor4d(randomNormal(c.x.reduce((a, b) => a * b), 7), c.x as [number, number, number, number]);
    const w = tf.tensor4d(randomNormal(c.f.reduce((a, b) => a * b), 8), c.f as [number, number, number, number]);
    const info = await tf.profile(() => tf.grads((a: Tensor, b: Tensor) => tf.sum(conv2d(a as Tensor4D, b as Tensor4D, c.s, c.pad)))([x, w]));
    // A copy of x or dy (batch first), not of the filter.
    const ofData = (k: (typeof info.kernels)[number]) => (k.inputShapes[0] as number[])[0] === c.x[0];
    const copies = (...names: string[]) => info.kernels.filter((k) => names.includes(k.name) && ofData(k)).map((k) => k.name);
    expect(info.kernels.filter((k) => k.name === 'Conv2D')).toHaveLength(c.convs);
    const interleave = info.kernels.some((k) => k.name === 'Transpose' && ofData(k) === false && (k.inputShapes[0] as number[]).length === 4 && (k.inputShapes[0] as number[])[2] === c.s);
    expect(interleave).toBe(c.phases);
    if (c.phases || c.s === 1) expect(copies('PadV2', 'Pack', 'Slice')).toEqual([]);
    else expect(copies('PadV2', 'Pack', 'Slice')).not.toEqual([]);
    tf.dispose([x, w]);
  });

  it('leaks no tensors: after a forward + backward under tidy only dx and dW remain', () => {
    const x = tf.tensor4d(randomNormal(2 * 7 * 7 * 3, 5), [2, 7, 7, 3]);
    const w = tf.tensor4d(randomNormal(3 * 3 * 3 * 4, 6), [3, 3, 3, 4]);
    const before = tf.memory().numTensors;
    const [dx, dw] = tf.tidy(() => tf.grads((a: Tensor, b: Tensor) => tf.sum(conv2d(a as Tensor4D, b as Tensor4D, 2, 'same')))([x, w]));
    expect(tf.memory().numTensors).toBe(before + 2); // only the two gradients survive the tidy
    tf.dispose([dx!, dw!]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });
});

describe('conv2dGeometry', () => {
  it('ResNet stem x=[16,128,128,1] f=[7,7,1,64] s=2 same: out 64×64, pads 2 before and 3 after, reads 133 rows', () => {
    const g = conv2dGeometry([16, 128, 128, 1], [7, 7, 1, 64], 2, 'same');
    expect([g.outH, g.outW, g.top, g.left, g.spanH, g.spanW]).toEqual([64, 64, 2, 2, 133, 133]);
  });
  it('x=[1,8,8,1] f=[3,3,1,1] s=2 valid: out 3×3, reads rows 0…6 (row 7 never)', () => {
    const g = conv2dGeometry([1, 8, 8, 1], [3, 3, 1, 1], 2, 'valid');
    expect([g.outH, g.spanH, g.top]).toEqual([3, 7, 0]);
  });
  it('x=[1,9,9,1] f=[3,3,1,1] d=2 same: dilated 5×5, out 9×9, pads 2', () => {
    const g = conv2dGeometry([1, 9, 9, 1], [3, 3, 1, 1], 1, 'same', 2);
    expect([g.effH, g.outH, g.top, g.spanH]).toEqual([5, 9, 2, 13]);
  });
});

describe('conv2d validation', () => {
  const x = (shape: [number, number, number, number]): Tensor4D => tf.zeros(shape);
  const cases: { name: string; run: () => unknown; message: string }[] = [
    {
      name: 'x=[7,7,3] (rank 3)',
      run: () => conv2d(tf.zeros([7, 7, 3]) as unknown as Tensor4D, x([3, 3, 3, 4]), 1, 'same'),
      message: 'Error in conv2d: input must be rank 4, but got rank 3.',
    },
    {
      name: 'f=[3,3,3] (rank 3)',
      run: () => conv2d(x([1, 7, 7, 3]), tf.zeros([3, 3, 3]) as unknown as Tensor4D, 1, 'same'),
      message: 'Error in conv2d: filter must be rank 4, but got rank 3.',
    },
    {
      name: 'x=[1,7,7,3] f=[3,3,2,4] (channel mismatch)',
      run: () => conv2d(x([1, 7, 7, 3]), x([3, 3, 2, 4]), 1, 'same'),
      message: 'Error in conv2d: depth of input (3) must match input depth for filter 2.',
    },
    {
      name: 's=2 with d=2',
      run: () => conv2d(x([1, 7, 7, 3]), x([3, 3, 3, 4]), 2, 'same', 2),
      message: 'Error in conv2d: either strides or dilations must be 1, but got strides [2, 2] and dilations [2, 2].',
    },
    {
      name: 's=0',
      run: () => conv2d(x([1, 7, 7, 3]), x([3, 3, 3, 4]), 0, 'same'),
      message: 'Error in conv2d: strides must be positive integers, but got [0, 0].',
    },
    {
      name: "pad='full'",
      run: () => conv2d(x([1, 7, 7, 3]), x([3, 3, 3, 4]), 1, 'full' as Conv2DPad),
      message: "Error in conv2d: pad must be 'same', 'valid' or a non-negative integer, but got full.",
    },
    {
      name: 'x=[1,5,5,1] f=[7,7,1,1] valid (empty output)',
      run: () => conv2d(x([1, 5, 5, 1]), x([7, 7, 1, 1]), 1, 'valid'),
      message: 'Error in conv2d: filter 7×7 (dilated 7×7) gives an empty output -1×-1 on input [1, 5, 5, 1] with pad "valid".',
    },
    {
      name: 'x int32',
      run: () => conv2d(tf.zeros([1, 5, 5, 1], 'int32') as Tensor4D, x([3, 3, 1, 1]), 1, 'same'),
      message: 'Error in conv2d: input must be float32, but got int32.',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: "${c.message}"`, () => {
      expect(c.run).toThrow(OpArgumentError);
      expect(c.run).toThrow(c.message);
    });
  }
});
