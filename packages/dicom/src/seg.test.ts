/// <reference path="./dcmjs.d.ts" />
import dcmjs from 'dcmjs';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createVolume } from '@tomosort/volume';
import { parseImage } from './parseImage';
import { readSeries } from './readSeries';
import { SEGMENTATION_STORAGE, readSegmentation, writeSegmentation } from './seg';
import { writeSeries } from './writeSeries';

/** A 13 × 11 × 6 CT series (13·11 = 143 bits per frame: frames do not start on byte boundaries). */
function ct() {
  const [nx, ny, nz] = [13, 11, 6];
  const data = new Int16Array(nx * ny * nz).map((_, n) => (n % 97) - 40);
  const volume = createVolume({ data, dims: [nx, ny, nz], spacing: [0.8, 0.7, 2.5], origin: [-5, -4, 10], modality: 'CT' });
  const written = writeSeries(volume, { patientName: 'Seg^Test', patientID: 'P1' });
  const files = written.files.map((bytes, k) => ({ name: `ct-${k}.dcm`, bytes }));
  return { series: readSeries(files), files };
}

/** Label 3 on the left part of slices 1 and 4, label 8 on a block of slice 4 (overlapping nothing). */
function labelmap(dims: readonly [number, number, number]) {
  const [nx, ny] = dims;
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (const k of [1, 4]) for (let j = 0; j < ny; j++) for (let i = 0; i < 5; i++) data[i + nx * (j + ny * k)] = 3;
  for (let j = 2; j < 6; j++) for (let i = 8; i < 12; i++) data[i + nx * (j + ny * 4)] = 8;
  return createVolume({ data, dims, spacing: [0.8, 0.7, 2.5], modality: 'SEG' });
}

const segments = [
  { labelValue: 3, label: 'liver', algorithmType: 'AUTOMATIC' as const },
  { labelValue: 8, label: 'spleen', algorithmType: 'MANUAL' as const },
];
const hash = (files: readonly { bytes: Uint8Array }[]) => createHash('sha256').update(Buffer.concat(files.map((f) => f.bytes))).digest('hex');

describe('writeSegmentation', () => {
  it('writes a BINARY SEG that dcmjs reads: frames, segments, references to the source series', () => {
    const { series, files } = ct();
    const before = hash(files);
    const seg = writeSegmentation({ source: series, sourceInstances: files, labelmap: labelmap(series.volume.dims), segments });
    expect(hash(files)).toBe(before);
    expect(seg.frames).toBe(3);
    expect(seg.framesPerSegment).toEqual({ 3: 2, 8: 1 });
    const ab = seg.bytes.buffer.slice(seg.bytes.byteOffset, seg.bytes.byteOffset + seg.bytes.byteLength) as ArrayBuffer;
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(ab).dict) as Record<string, any>;
    expect(ds.SOPClassUID).toBe(SEGMENTATION_STORAGE);
    expect(ds.Modality).toBe('SEG');
    expect(Number(ds.NumberOfFrames)).toBe(3);
    expect(ds.SegmentSequence.map((s: any) => [s.SegmentNumber, s.SegmentLabel, s.SegmentAlgorithmType])).toEqual([
      [1, 'liver', 'AUTOMATIC'],
      [2, 'spleen', 'MANUAL'],
    ]);
    expect(ds.ReferencedSeriesSequence[0].SeriesInstanceUID).toBe(series.seriesInstanceUID);
    expect(ds.StudyInstanceUID).toBe(series.studyInstanceUID);
    expect(ds.FrameOfReferenceUID).toBe(series.frameOfReferenceUID);
    expect(ds.PatientID).toBe('P1');
    const refs = ds.PerFrameFunctionalGroupsSequence.map((f: any) => f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID);
    expect(refs).toEqual([series.sopInstanceUIDs[1], series.sopInstanceUIDs[4], series.sopInstanceUIDs[4]]);
    // Our dicom-parser reader parses it and recognises a non-image object.
    expect(() => parseImage({ name: 'seg.dcm', bytes: seg.bytes })).toThrow(/not an image|Segmentation/i);
  });

  it('round-trips through readSegmentation bit for bit (values become segment numbers)', () => {
    const { series, files } = ct();
    const lm = labelmap(series.volume.dims);
    const seg = writeSegmentation({ source: series, sourceInstances: files, labelmap: lm, segments });
    const back = readSegmentation({ name: 'seg.dcm', bytes: seg.bytes }, series);
    expect(back.slices).toEqual([1, 4]);
    expect(back.referencedSeriesInstanceUID).toBe(series.seriesInstanceUID);
    expect(back.segments.map((s) => [s.labelValue, s.label])).toEqual([
      [1, 'liver'],
      [2, 'spleen'],
    ]);
    const expected = lm.data.map((v) => (v === 3 ? 1 : v === 8 ? 2 : 0));
    expect(Array.from(back.labelmap.data)).toEqual(Array.from(expected));
  });

  it('with `slices`, every segment gets a frame on each listed slice, empty where absent', () => {
    const { series } = ct();
    const seg = writeSegmentation({ source: series, labelmap: labelmap(series.volume.dims), segments, slices: [0, 1] });
    expect(seg.frames).toBe(4);
    expect(seg.framesPerSegment).toEqual({ 3: 2, 8: 2 });
    expect(readSegmentation({ name: 's', bytes: seg.bytes }, series).slices).toEqual([0, 1]);
  });

  it('refuses bad input with a message naming the problem', () => {
    const { series } = ct();
    const lm = labelmap(series.volume.dims);
    const small = createVolume({ data: new Uint8Array(13 * 11 * 5), dims: [13, 11, 5], spacing: [1, 1, 1] });
    expect(() => writeSegmentation({ source: series, labelmap: small, segments })).toThrow(`label map is [13, 11, 5] but series ${series.seriesInstanceUID} is [13, 11, 6]`);
    expect(() => writeSegmentation({ source: series, labelmap: lm, segments: segments.slice(0, 1) })).toThrow('label map holds value 8');
    expect(() => writeSegmentation({ source: series, labelmap: lm, segments: [segments[0]!, { ...segments[1]!, labelValue: 3 }] })).toThrow('label value 3 is given to two segments');
    expect(() => writeSegmentation({ source: series, labelmap: lm, segments, slices: [6] })).toThrow('slice 6 is outside 0..5');
    const other = ct().series;
    const seg = writeSegmentation({ source: series, labelmap: lm, segments });
    expect(() => readSegmentation({ name: 'seg.dcm', bytes: seg.bytes }, other)).toThrow(`seg.dcm references series ${series.seriesInstanceUID}, not ${other.seriesInstanceUID}`);
  });
});
