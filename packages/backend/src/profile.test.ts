import { describe, expect, it } from 'vitest';
import { kernelTimes } from './profile';

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
