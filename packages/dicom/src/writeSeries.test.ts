import { describe, expect, it } from 'vitest';
import { PLANE_FRAMES, createVolume } from '@tomosort/volume';
import { InconsistentSeriesError } from './errors';
import { readSeries } from './readSeries';
import { writeSeries } from './writeSeries';

const coded = (dims: [number, number, number]) =>
  Int16Array.from({ length: dims[0] * dims[1] * dims[2] }, (_, n) => ((n * 37) % 4000) - 1024);

describe('writeSeries → readSeries', () => {
  it('a coronal [6,5,4] CT at 0.7×0.8×1.5 mm comes back bit for bit with the same geometry', () => {
    const v = createVolume({
      data: coded([6, 5, 4]),
      dims: [6, 5, 4],
      spacing: [0.7, 0.8, 1.5],
      origin: [-12.5, 3.25, 40],
      direction: PLANE_FRAMES.coronal,
      modality: 'CT',
    });
    const written = writeSeries(v, { seriesDescription: 'round trip' });
    expect(written.files).toHaveLength(4);
    const back = readSeries([...written.files].reverse().map((bytes, n) => ({ name: `f${n}.dcm`, bytes })));
    expect(back.volume.data).toEqual(v.data);
    expect(back.volume.dims).toEqual(v.dims);
    back.volume.spacing.forEach((s, a) => expect(s).toBeCloseTo(v.spacing[a]!, 5));
    back.volume.origin.forEach((s, a) => expect(s).toBeCloseTo(v.origin[a]!, 5));
    back.volume.direction.forEach((d, a) => d.forEach((c, b) => expect(c).toBeCloseTo(v.direction[a]![b]!, 6)));
    expect(back.seriesInstanceUID).toBe(written.seriesInstanceUID);
    expect(back.sopInstanceUIDs).toEqual(written.sopInstanceUIDs);
    expect(back.seriesDescription).toBe('round trip');
    expect(back.modality).toBe('CT');
  });

  it('the stored display window: soft tissue (40/400) for CT, the 0.5–99.5th percentiles for MR', () => {
    const windowOf = (bytes: Uint8Array) => {
      const text = new TextDecoder('latin1').decode(bytes);
      // (0028,1050) WindowCenter and (0028,1051) WindowWidth, DS, explicit VR little endian.
      const at = (tag: string) => {
        const i = text.indexOf(tag);
        const len = bytes[i + 6]! | (bytes[i + 7]! << 8);
        return Number(text.slice(i + 8, i + 8 + len).trim());
      };
      return [at('\x28\x00\x50\x10DS'), at('\x28\x00\x51\x10DS')];
    };
    const ct = createVolume({ data: coded([6, 5, 4]), dims: [6, 5, 4], spacing: [1, 1, 1], modality: 'CT' });
    expect(windowOf(writeSeries(ct, {}).files[0]!)).toEqual([40, 400]);
    const data = Int16Array.from({ length: 1000 }, (_, n) => n);
    const mr = createVolume({ data, dims: [10, 10, 10], spacing: [1, 1, 1], modality: 'MR' });
    // 0.5th and 99.5th percentiles of 0..999: 4.995 and 994.005 → centre 499.5, width 989.01.
    const [c, w] = windowOf(writeSeries(mr, {}).files[0]!);
    expect(c).toBeCloseTo(499.5, 3);
    expect(w).toBeCloseTo(989.01, 2);
  });

  it('fresh UIDs are 2.25 UUID integers, unique per instance', () => {
    const v = createVolume({ data: coded([2, 2, 3]), dims: [2, 2, 3], spacing: [1, 1, 1], modality: 'CT' });
    const w = writeSeries(v);
    const uids = [w.studyInstanceUID, w.seriesInstanceUID, ...w.sopInstanceUIDs];
    expect(new Set(uids).size).toBe(5);
    for (const uid of uids) expect(uid).toMatch(/^2\.25\.\d{1,39}$/);
  });

  it('rejects non-integer voxels', () => {
    const v = createVolume({ data: Float32Array.from([0.5, 1, 2, 3]), dims: [2, 2, 1], spacing: [1, 1, 1] });
    expect(() => writeSeries(v)).toThrow(/voxel 0 = 0.5 is not an integer/);
  });

  it('two sizes under one series UID give InconsistentSeriesError naming Rows', () => {
    const a = createVolume({ data: coded([4, 4, 2]), dims: [4, 4, 2], spacing: [1, 1, 2], modality: 'CT' });
    const b = createVolume({ data: coded([4, 3, 1]), dims: [4, 3, 1], spacing: [1, 1, 2], origin: [0, 0, 4], modality: 'CT' });
    const wa = writeSeries(a);
    const wb = writeSeries(b, { seriesInstanceUID: wa.seriesInstanceUID, frameOfReferenceUID: undefined });
    const inputs = [...wa.files, ...wb.files].map((bytes, n) => ({ name: `s${n}.dcm`, bytes }));
    expect(() => readSeries(inputs)).toThrow(InconsistentSeriesError);
    expect(() => readSeries(inputs)).toThrow(/Rows differs inside the series: s2\.dcm has 3, the first image has 4/);
  });
});
