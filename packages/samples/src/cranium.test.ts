import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PLANE_FRAMES } from '@tomosort/volume';
import { CRANIUM_PATH, loadCranium } from './cranium';
import { SampleError, SampleUnavailableError } from './errors';

describe('loadCranium', () => {
  it.skipIf(!existsSync(CRANIUM_PATH))('reads Cranium.inv3: dims [256, 256, 108], coronal, 2 masks', async () => {
    const p = await loadCranium();
    expect(p.volume.dims).toEqual([256, 256, 108]);
    expect(p.volume.direction).toEqual(PLANE_FRAMES.coronal);
    expect(p.masks).toHaveLength(2);
  });

  it('a missing file → SampleUnavailableError telling how to install it', async () => {
    const missing = '/nonexistent/Cranium.inv3';
    const error = await loadCranium(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SampleUnavailableError);
    expect(error).toBeInstanceOf(SampleError);
    expect((error as SampleUnavailableError).path).toBe(missing);
    expect((error as Error).message).toBe(
      'sample:cranium: /nonexistent/Cranium.inv3 is missing; install it with `apt-get install invesalius-examples` (or run ./scripts/setup.sh)',
    );
  });
});
