import { describe, expect, it } from 'vitest';
import { WEBGPU_KERNEL_CHECKS } from '@tomosort/backend/testing';
import { checkKernelsInChromium } from './testing';

// The kernel table of kernels.webgpu.test.ts (Node, Dawn) again in Chromium's own Dawn
// (SwiftShader on a machine without a GPU): the browser compiles our WGSL itself.
const TOLERANCE = 1e-4;

describe('our WGSL kernels in Chromium', () => {
  it(`equal Chromium's cpu backend within ${TOLERANCE} on every case of the table`, async () => {
    const r = await checkKernelsInChromium();
    expect(r.backend).toMatch(/^webgpu \(/);
    expect(r.checks.map((c) => c.name)).toEqual(WEBGPU_KERNEL_CHECKS.map((c) => c.name));
    for (const c of r.checks) {
      expect(c.ours, c.name).toBe(true);
      expect(c.outputs, c.name).toBeGreaterThan(0);
      expect(c.maxRelativeError, c.name).toBeLessThan(TOLERANCE);
    }
  }, 600_000);
});
