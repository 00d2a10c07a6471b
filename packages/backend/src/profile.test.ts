import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { kernelTimes, profileSecondStep } from './profile';

describe('kernelTimes', () => {
  it('sums by kernel name, slowest first, counting unmeasured records as calls of 0 ms', () => {
    const t = kernelTimes([
      { name: 'Conv2D', kernelTimeMs: 1.004 },
      { name: 'Add', kernelTimeMs: 0.5 },
      { name: 'Conv2D', kernelTimeMs: 2.002 },
      { name: 'Add', kernelTimeMs: { error: 'no timer' } },
    ]);
    expect(t).toEqual([
      { name: 'Conv2D', ms: 3.01, calls: 2 },
      { name: 'Add', ms: 0.5, calls: 2 },
    ]);
  });
});

describe('profileSecondStep', () => {
  it('keeps only the kernels run after step 1 reported, and step 2’s time', async () => {
    await tf.setBackend('cpu');
    const x = tf.ones([4]);
    const p = await profileSecondStep(async (onStep) => {
      tf.add(x, x).dispose();
      onStep(1, 5);
      tf.mul(x, x).dispose();
      tf.mul(x, 2).dispose();
      onStep(2, 7.04);
    });
    expect(p.stepMs).toBe(7);
    expect(p.kernels.map((k) => [k.name, k.calls])).toEqual([['Multiply', 2]]);
  });
});
