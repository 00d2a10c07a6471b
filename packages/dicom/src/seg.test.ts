/// <reference path="./dcmjs.d.ts" />
import dcmjs from 'dcmjs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVolume } from '@tomosort/volume';
import { parseImage } from './parseImage';
import { readSeries } from './readSeries';
import { SEGMENTATION_STORAGE, SEGMENT_COLORS, readSegmentation, segmentCodes, writeSegmentation } from './seg';
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

/** dciodvfy's (Debian dicom3tools) lines that start with "Error" for one file: the standard's checks. */
function dciodvfyErrors(bytes: Uint8Array): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'tomosort-dciodvfy-'));
  try {
    const file = join(dir, 'x.dcm');
    writeFileSync(file, bytes);
    // dciodvfy writes its findings to stderr and exits non-zero when it finds errors.
    let out: string;
    try {
      out = execFileSync('dciodvfy', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; code?: string };
      if (err.code === 'ENOENT') throw new Error('dciodvfy is not installed (Debian dicom3tools; scripts/setup.sh installs it)');
      out = `${err.stdout ?? ''}${err.stderr ?? ''}`;
    }
    return out.split('\n').filter((l) => l.startsWith('Error'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const dcmjsRead = (bytes: Uint8Array) =>
  dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).dict) as Record<string, any>;

describe('conformance (dciodvfy)', () => {
  it('the SEG has no errors, keeps the study\'s date, time and ID, colours every segment and codes the names it knows; unused labels are left out', () => {
    const [nx, ny, nz] = [13, 11, 6];
    const volume = createVolume({ data: new Int16Array(nx * ny * nz), dims: [nx, ny, nz], spacing: [0.8, 0.7, 2.5], origin: [-5, -4, 10], modality: 'CT' });
    const files = writeSeries(volume, { patientName: 'Seg^Test', patientID: 'P1', studyDate: '20190304' }).files.map((bytes, k) => ({ name: `ct-${k}.dcm`, bytes }));
    expect(dciodvfyErrors(files[0]!.bytes)).toEqual([]);
    const series = readSeries(files);
    const seg = writeSegmentation({
      source: series,
      sourceInstances: files,
      labelmap: labelmap(series.volume.dims),
      segments: [...segments, { labelValue: 9, label: 'never drawn', algorithmType: 'MANUAL' }],
    });
    expect(dciodvfyErrors(seg.bytes)).toEqual([]);
    const ds = dcmjsRead(seg.bytes);
    expect([ds.StudyDate, ds.StudyTime, ds.StudyID]).toEqual(['20190304', '000000', '1']);
    expect(ds.SeriesDate).not.toBe('20190304');
    // Label 9 holds no voxel: not exported.
    expect(ds.SegmentSequence.map((s: any) => [s.SegmentNumber, s.SegmentLabel])).toEqual([
      [1, 'liver'],
      [2, 'spleen'],
    ]);
    expect(seg.framesPerSegment).toEqual({ 3: 2, 8: 1 });
    ds.SegmentSequence.forEach((s: any, i: number) => {
      const rgb = dcmjs.data.Colors.dicomlab2RGB(s.RecommendedDisplayCIELabValue).map((c: number) => Math.round(c * 255));
      SEGMENT_COLORS[i]!.forEach((c, j) => expect(Math.abs(rgb[j]! - c)).toBeLessThanOrEqual(1));
    });
    const typeOf = (s: any) => (Array.isArray(s.SegmentedPropertyTypeCodeSequence) ? s.SegmentedPropertyTypeCodeSequence[0] : s.SegmentedPropertyTypeCodeSequence);
    expect(ds.SegmentSequence.map((s: any) => typeOf(s).CodeValue)).toEqual(['10200004', '78961009']);
  });

  it('segmentCodes: known names by their words (any case, plural), the rest generic Tissue', () => {
    expect(segmentCodes('Left lung').type.CodeMeaning).toBe('Lung');
    expect(segmentCodes('lungs').type.CodeValue).toBe('39607008');
    expect(segmentCodes('bone').category.CodeMeaning).toBe('Tissue');
    expect(segmentCodes('Brain').category.CodeMeaning).toBe('Anatomical Structure');
    expect(segmentCodes('structure')).toEqual({ category: segmentCodes('x').category, type: segmentCodes('x').type });
    expect(segmentCodes('structure').type.CodeMeaning).toBe('Tissue');
  });

  it('series written for CT and MR have no errors', () => {
    for (const modality of ['CT', 'MR']) {
      const volume = createVolume({ data: new Int16Array(8 * 8 * 3), dims: [8, 8, 3], spacing: [1, 1, 2], modality });
      expect(dciodvfyErrors(writeSeries(volume, {}).files[0]!), modality).toEqual([]);
    }
  });
});

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
