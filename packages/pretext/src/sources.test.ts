import { describe, expect, it } from 'vitest';
import { createVolume } from '@tomosort/volume';
import { fitMmPerPixel } from './prepare';
import { fitScaleToFirst, withFirstLoaded } from './sources';
import type { VolumeSource } from './sources';

describe('withFirstLoaded', () => {
  it("loads the first source once for the caller and hands that volume to the list's first load; later loads load anew", async () => {
    const loads: string[] = [];
    const source = (id: string): VolumeSource => ({
      id,
      load: async () => (loads.push(id), createVolume({ dims: [1, 1, 1], spacing: [1, 1, 1], data: new Float32Array([loads.length]) })),
    });
    const { first, sources } = await withFirstLoaded([source('a'), source('b')]);
    expect(loads).toEqual(['a']);
    expect(sources.map((s) => s.id)).toEqual(['a', 'b']);
    expect(await sources[0]!.load()).toBe(first);
    await sources[1]!.load();
    expect(loads).toEqual(['a', 'b']);
    // Handed over once: the volume is not kept alive for the whole run.
    expect(await sources[0]!.load()).not.toBe(first);
    expect(loads).toEqual(['a', 'b', 'a']);
    await expect(withFirstLoaded([])).rejects.toThrow('withFirstLoaded: no sources');
  });
});

describe('fitScaleToFirst', () => {
  it("fits the scale to the first volume, loaded once and handed on", async () => {
    let loads = 0;
    const volume = createVolume({ dims: [40, 30, 5], spacing: [0.8, 0.8, 2], data: new Float32Array(40 * 30 * 5) });
    const source: VolumeSource = { id: 'a', load: async () => (loads++, volume) };
    const { mmPerPixel, sources } = await fitScaleToFirst([source], 'axial', 16);
    expect(mmPerPixel).toBe(fitMmPerPixel(volume, 'axial', 16));
    expect(await sources[0]!.load()).toBe(volume);
    expect(loads).toBe(1);
  });
});
