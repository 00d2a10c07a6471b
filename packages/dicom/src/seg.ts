/// <reference path="./dcmjs.d.ts" />
import dcmjs from 'dcmjs';
import { createVolume, voxelCoord, voxelToPatient } from '@tomosort/volume';
import type { Volume } from '@tomosort/volume';
import { DicomError } from './errors';
import type { DicomInput } from './parseImage';
import type { SeriesVolume } from './readSeries';
import { SOP_CLASS } from './tags';
import { newUid } from './uid';

/** One segment of a DICOM SEG. */
export interface SegmentInfo {
  /** Value of the segment in the label map (1..255). */
  readonly labelValue: number;
  readonly label: string;
  readonly algorithmType: 'MANUAL' | 'SEMIAUTOMATIC' | 'AUTOMATIC';
  /** Required by the standard unless MANUAL; default 'tomosort'. */
  readonly algorithmName?: string;
  /** Display colour, sRGB 0–255 (stored as RecommendedDisplayCIELabValue); default from {@link SEGMENT_COLORS}. */
  readonly color?: readonly [number, number, number];
}

/**
 * Default segment colours (sRGB), by segment number 1, 2, …, cycling: distinct on a grey image.
 * (OHIF warns when a SEG has no recommended display colour and invents one.)
 */
export const SEGMENT_COLORS: readonly (readonly [number, number, number])[] = [
  [221, 84, 84],
  [77, 228, 121],
  [166, 70, 235],
  [189, 180, 116],
  [94, 96, 225],
  [246, 170, 58],
  [54, 190, 228],
  [229, 120, 205],
];

/** A SNOMED CT code. */
export interface Code {
  readonly CodeValue: string;
  readonly CodingSchemeDesignator: 'SCT';
  readonly CodeMeaning: string;
}

const TISSUE: Code = { CodeValue: '85756007', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Tissue' };
const ANATOMY: Code = { CodeValue: '123037004', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Anatomical Structure' };
const sct = (value: string, meaning: string): Code => ({ CodeValue: value, CodingSchemeDesignator: 'SCT', CodeMeaning: meaning });

/**
 * Segment category and type by label name (PS3.16 CID 7150 categories; SNOMED CT types), matched
 * on the name's words, case-insensitive ("left lung", "Lungs", "bone" …). Unknown names are
 * typed generically as Tissue / Tissue.
 */
const KNOWN_STRUCTURES: readonly { readonly words: readonly string[]; readonly category: Code; readonly type: Code }[] = [
  { words: ['bone', 'bones', 'skeleton'], category: TISSUE, type: sct('272673000', 'Bone') },
  { words: ['brain'], category: ANATOMY, type: sct('12738006', 'Brain') },
  { words: ['liver'], category: ANATOMY, type: sct('10200004', 'Liver') },
  { words: ['lung', 'lungs'], category: ANATOMY, type: sct('39607008', 'Lung') },
  { words: ['heart'], category: ANATOMY, type: sct('80891009', 'Heart') },
  { words: ['kidney', 'kidneys'], category: ANATOMY, type: sct('64033007', 'Kidney') },
  { words: ['spleen'], category: ANATOMY, type: sct('78961009', 'Spleen') },
  { words: ['aorta'], category: ANATOMY, type: sct('15825003', 'Aorta') },
  { words: ['trachea', 'airway'], category: ANATOMY, type: sct('44567001', 'Trachea') },
  { words: ['cerebellum'], category: ANATOMY, type: sct('113305005', 'Cerebellum') },
];

/** The category and type codes a SEG gives a segment named `label`. */
export function segmentCodes(label: string): { readonly category: Code; readonly type: Code } {
  const words = label.toLowerCase().split(/[^a-z]+/).filter(Boolean);
  const known = KNOWN_STRUCTURES.find((k) => k.words.some((w) => words.includes(w)));
  return known ? { category: known.category, type: known.type } : { category: TISSUE, type: TISSUE };
}

export interface WriteSegmentationOptions {
  /** The referenced series as readSeries returned it (geometry, UIDs, instance order). */
  readonly source: SeriesVolume;
  /** The source files, read (never modified) for the source SOP class; optional. */
  readonly sourceInstances?: readonly DicomInput[];
  /** Same grid as `source.volume`; voxel = a segment's labelValue or 0. */
  readonly labelmap: Volume<Uint8Array>;
  readonly segments: readonly SegmentInfo[];
  /**
   * Slices (k) to export, e.g. the annotated ones: every segment gets a frame on each, even an
   * empty one (absent there). Default: a frame wherever a segment has a voxel.
   */
  readonly slices?: readonly number[];
  readonly seriesDescription?: string;
  readonly seriesNumber?: number;
  readonly seriesInstanceUID?: string;
  readonly sopInstanceUID?: string;
}

export interface WrittenSegmentation {
  /** Part 10 file, explicit VR little endian. */
  readonly bytes: Uint8Array;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
  readonly frames: number;
  /** Frames per segment, by label value. */
  readonly framesPerSegment: Readonly<Record<number, number>>;
}

export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const IMPLEMENTATION_CLASS_UID = '2.25.203873118617417935226383815413557355331';
const OP = 'writeSegmentation';
const ds = (x: number) => +x.toFixed(6);

/** sRGB 0–255 → DICOM's scaled CIELab (PS3.3 C.10.7.1.1: L* 0–100 and a*, b* −128–127 onto 0–65535). */
function dicomLab(rgb: readonly [number, number, number]): number[] {
  return (dcmjs.data.Colors.rgb2DICOMLAB(rgb.map((c) => c / 255)) as number[]).map((x) => Math.round(x));
}

function sourceSopClass(opts: WriteSegmentationOptions): string {
  const first = opts.sourceInstances?.[0];
  if (first) {
    const bytes = first.bytes;
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const meta = dcmjs.data.DicomMessage.readFile(ab, { untilTag: '00080018' });
    const uid = dcmjs.data.DicomMetaDictionary.naturalizeDataset(meta.dict).SOPClassUID;
    if (typeof uid === 'string') return uid;
  }
  return opts.source.modality === 'MR' ? SOP_CLASS.MRImage : SOP_CLASS.CTImage;
}

function check(opts: WriteSegmentationOptions): void {
  const src = opts.source.volume;
  const where = `series ${opts.source.seriesInstanceUID}`;
  if (opts.labelmap.dims.some((d, i) => d !== src.dims[i])) {
    throw new DicomError(OP, `label map is [${opts.labelmap.dims.join(', ')}] but ${where} is [${src.dims.join(', ')}]`);
  }
  if (opts.segments.length === 0) throw new DicomError(OP, 'a SEG needs at least one segment');
  const values = new Set<number>();
  for (const s of opts.segments) {
    if (!Number.isInteger(s.labelValue) || s.labelValue < 1 || s.labelValue > 255) throw new DicomError(OP, `segment "${s.label}": label value must be 1..255, got ${s.labelValue}`);
    if (values.has(s.labelValue)) throw new DicomError(OP, `label value ${s.labelValue} is given to two segments`);
    values.add(s.labelValue);
  }
  for (let n = 0; n < opts.labelmap.data.length; n++) {
    const v = opts.labelmap.data[n]!;
    if (v !== 0 && !values.has(v)) throw new DicomError(OP, `label map holds value ${v} (voxel ${n}) but no segment has that label value`);
  }
  for (const k of opts.slices ?? []) {
    if (!Number.isInteger(k) || k < 0 || k >= src.dims[2]) throw new DicomError(OP, `slice ${k} is outside 0..${src.dims[2] - 1} of ${where}`);
  }
}

/**
 * A DICOM Segmentation (PS3.3 A.51, BINARY, 1 bit per pixel) over a source series: one frame per
 * (segment, slice) — on `slices` when given, else wherever the segment is present — each
 * referencing its source image (DerivationImageSequence) and placed by ImagePositionPatient.
 * Segment numbers are 1..n in the order of `segments`. The source files are only read.
 */
export function writeSegmentation(opts: WriteSegmentationOptions): WrittenSegmentation {
  check(opts);
  const { source, labelmap } = opts;
  const v = source.volume;
  const [nx, ny, nz] = v.dims;
  const plane = nx * ny;
  // Only segments that hold a voxel: a label never drawn is not exported (numbers stay 1..n in order).
  const present = new Set(labelmap.data);
  const segments = opts.segments.filter((s) => present.has(s.labelValue));
  const frames: { segment: number; k: number }[] = [];
  const framesPerSegment: Record<number, number> = {};
  segments.forEach((s, si) => {
    framesPerSegment[s.labelValue] = 0;
    const ks = opts.slices ? [...new Set(opts.slices)].sort((a, b) => a - b) : [...Array(nz).keys()];
    for (const k of ks) {
      if (!opts.slices && !labelmap.data.subarray(k * plane, (k + 1) * plane).includes(s.labelValue)) continue;
      frames.push({ segment: si, k });
      framesPerSegment[s.labelValue]! += 1;
    }
  });
  if (frames.length === 0) throw new DicomError(OP, 'nothing to export: no segment has a voxel on any slice');
  // Frames are packed bit after bit, least significant bit first, without padding between frames.
  const bits = new Uint8Array(Math.ceil((frames.length * plane) / 8));
  frames.forEach((f, n) => {
    const value = segments[f.segment]!.labelValue;
    const base = n * plane;
    for (let p = 0; p < plane; p++) {
      if (labelmap.data[f.k * plane + p] === value) bits[(base + p) >> 3]! |= 1 << ((base + p) & 7);
    }
  });
  const refClass = sourceSopClass(opts);
  const seriesInstanceUID = opts.seriesInstanceUID ?? newUid();
  const sopInstanceUID = opts.sopInstanceUID ?? newUid();
  const now = new Date().toISOString();
  const date = now.slice(0, 10).replaceAll('-', '');
  const time = now.slice(11, 19).replaceAll(':', '');
  // Study and patient attributes are the source's (the study list must keep dating the study to its acquisition).
  const study = source.study;
  const [d0, d1] = v.direction;
  const dimensionOrganization = newUid();
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    ImageType: ['DERIVED', 'PRIMARY'],
    SOPClassUID: SEGMENTATION_STORAGE,
    SOPInstanceUID: sopInstanceUID,
    StudyDate: study?.studyDate ?? '',
    SeriesDate: date,
    ContentDate: date,
    StudyTime: study?.studyTime ?? '',
    SeriesTime: time,
    ContentTime: time,
    AccessionNumber: study?.accessionNumber ?? '',
    Modality: 'SEG',
    Manufacturer: 'tomosort',
    ManufacturerModelName: 'tomosort',
    DeviceSerialNumber: '1',
    SoftwareVersions: '0.1',
    ReferringPhysicianName: study?.referringPhysicianName ?? '',
    StudyDescription: source.studyDescription ?? '',
    SeriesDescription: opts.seriesDescription ?? 'tomosort segmentation',
    PatientName: source.patientName ?? '',
    PatientID: source.patientID ?? '',
    PatientBirthDate: study?.patientBirthDate ?? '',
    PatientSex: study?.patientSex ?? '',
    StudyInstanceUID: source.studyInstanceUID,
    SeriesInstanceUID: seriesInstanceUID,
    StudyID: study?.studyID ?? '',
    SeriesNumber: opts.seriesNumber ?? 300,
    InstanceNumber: 1,
    FrameOfReferenceUID: source.frameOfReferenceUID,
    PositionReferenceIndicator: '',
    ContentLabel: 'TOMOSORT',
    ContentDescription: opts.seriesDescription ?? 'tomosort segmentation',
    // Type 2, a person's name: empty (software made it; Manufacturer says which).
    ContentCreatorName: '',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    NumberOfFrames: frames.length,
    Rows: ny,
    Columns: nx,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    ReferencedSeriesSequence: [
      {
        SeriesInstanceUID: source.seriesInstanceUID,
        ReferencedInstanceSequence: [...new Set(frames.map((f) => f.k))].map((k) => ({ ReferencedSOPClassUID: refClass, ReferencedSOPInstanceUID: source.sopInstanceUIDs[k] })),
      },
    ],
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganization }],
    // The two indices of each frame's DimensionIndexValues: its segment, then its position.
    DimensionIndexSequence: [
      { DimensionOrganizationUID: dimensionOrganization, DimensionIndexPointer: 0x0062000b, FunctionalGroupPointer: 0x0062000a, DimensionDescriptionLabel: 'ReferencedSegmentNumber' },
      { DimensionOrganizationUID: dimensionOrganization, DimensionIndexPointer: 0x00200032, FunctionalGroupPointer: 0x00209113, DimensionDescriptionLabel: 'ImagePositionPatient' },
    ],
    SegmentSequence: segments.map((s, si) => {
      const codes = segmentCodes(s.label);
      return {
        SegmentNumber: si + 1,
        SegmentLabel: s.label,
        SegmentAlgorithmType: s.algorithmType,
        ...(s.algorithmType === 'MANUAL' ? {} : { SegmentAlgorithmName: s.algorithmName ?? 'tomosort' }),
        SegmentedPropertyCategoryCodeSequence: [codes.category],
        SegmentedPropertyTypeCodeSequence: [codes.type],
        RecommendedDisplayCIELabValue: dicomLab(s.color ?? SEGMENT_COLORS[si % SEGMENT_COLORS.length]!),
      };
    }),
    SharedFunctionalGroupsSequence: [
      {
        PlaneOrientationSequence: [{ ImageOrientationPatient: [...d0, ...d1].map(ds) }],
        PixelMeasuresSequence: [{ PixelSpacing: [ds(v.spacing[1]), ds(v.spacing[0])], SliceThickness: ds(v.spacing[2]), SpacingBetweenSlices: ds(v.spacing[2]) }],
      },
    ],
    PerFrameFunctionalGroupsSequence: frames.map((f) => {
      const p = voxelToPatient(v, voxelCoord(0, 0, f.k));
      return {
        DerivationImageSequence: [
          {
            SourceImageSequence: [
              {
                ReferencedSOPClassUID: refClass,
                ReferencedSOPInstanceUID: source.sopInstanceUIDs[f.k],
                PurposeOfReferenceCodeSequence: [{ CodeValue: '121322', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Source image for image processing operation' }],
              },
            ],
            DerivationCodeSequence: [{ CodeValue: '113076', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Segmentation' }],
          },
        ],
        FrameContentSequence: [{ DimensionIndexValues: [f.segment + 1, f.k + 1] }],
        PlanePositionSequence: [{ ImagePositionPatient: [ds(p[0]), ds(p[1]), ds(p[2])] }],
        SegmentIdentificationSequence: [{ ReferencedSegmentNumber: f.segment + 1 }],
      };
    }),
    PixelData: [bits.buffer],
    _vrMap: { PixelData: 'OB' },
  };
  const fileMeta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: SEGMENTATION_STORAGE,
    MediaStorageSOPInstanceUID: sopInstanceUID,
    TransferSyntaxUID: EXPLICIT_LE,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: 'tomosort-0.1',
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(fileMeta));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
  return { bytes: new Uint8Array(dict.write()), seriesInstanceUID, sopInstanceUID, frames: frames.length, framesPerSegment };
}

/** A SEG read back onto its source series' grid. */
export interface ReadSegmentation {
  /** Voxel = segment number (1..n, the SEG's SegmentNumber) or 0; later segments win overlaps. */
  readonly labelmap: Volume<Uint8Array>;
  /** With labelValue = SegmentNumber. */
  readonly segments: readonly SegmentInfo[];
  /** Source slices (k) that have at least one frame, sorted. */
  readonly slices: readonly number[];
  readonly seriesInstanceUID: string;
  readonly referencedSeriesInstanceUID: string;
}

type Item = Record<string, unknown>;
const items = (x: unknown): Item[] => (Array.isArray(x) ? (x as Item[]) : x && typeof x === 'object' ? [x as Item] : []);

/** Reads a BINARY DICOM SEG that references `source` and maps its frames onto the source grid. */
export function readSegmentation(seg: DicomInput, source: SeriesVolume): ReadSegmentation {
  const RD = 'readSegmentation';
  const ab = seg.bytes.buffer.slice(seg.bytes.byteOffset, seg.bytes.byteOffset + seg.bytes.byteLength) as ArrayBuffer;
  let ds: Item;
  try {
    ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(ab).dict);
  } catch (e) {
    throw new DicomError(RD, `${seg.name}: not a readable DICOM file (${(e as Error).message})`);
  }
  if (ds.SOPClassUID !== SEGMENTATION_STORAGE) throw new DicomError(RD, `${seg.name}: not a Segmentation (SOP class ${String(ds.SOPClassUID)})`);
  if (ds.SegmentationType !== 'BINARY') throw new DicomError(RD, `${seg.name}: SegmentationType ${String(ds.SegmentationType)} is not supported (BINARY only)`);
  const ref = items(ds.ReferencedSeriesSequence)[0]?.SeriesInstanceUID;
  if (ref !== source.seriesInstanceUID) throw new DicomError(RD, `${seg.name} references series ${String(ref)}, not ${source.seriesInstanceUID}`);
  const [nx, ny, nz] = source.volume.dims;
  if (ds.Rows !== ny || ds.Columns !== nx) throw new DicomError(RD, `${seg.name}: frames are ${String(ds.Columns)}×${String(ds.Rows)}, the series' images ${nx}×${ny}`);
  const plane = nx * ny;
  const kOf = new Map(source.sopInstanceUIDs.map((uid, k) => [uid, k]));
  const segments: SegmentInfo[] = items(ds.SegmentSequence).map((s) => ({
    labelValue: Number(s.SegmentNumber),
    label: String(s.SegmentLabel ?? `segment ${String(s.SegmentNumber)}`),
    algorithmType: (s.SegmentAlgorithmType as SegmentInfo['algorithmType']) ?? 'MANUAL',
    ...(typeof s.SegmentAlgorithmName === 'string' ? { algorithmName: s.SegmentAlgorithmName } : {}),
  }));
  const pixel = items(ds.PixelData)[0] as unknown;
  const bits = new Uint8Array(pixel instanceof ArrayBuffer ? pixel : (ds.PixelData as ArrayBuffer[])[0]!);
  const labels = new Uint8Array(plane * nz);
  const slices = new Set<number>();
  const perFrame = items(ds.PerFrameFunctionalGroupsSequence);
  const order = perFrame.map((f, n) => {
    const uid = items(items(items(f.DerivationImageSequence)[0]?.SourceImageSequence)[0])[0]?.ReferencedSOPInstanceUID;
    const k = kOf.get(String(uid));
    if (k === undefined) throw new DicomError(RD, `${seg.name}: frame ${n + 1} references instance ${String(uid)}, which is not in series ${source.seriesInstanceUID}`);
    const segment = Number(items(f.SegmentIdentificationSequence)[0]?.ReferencedSegmentNumber);
    return { n, k, segment };
  });
  // Paint in segment order so that the higher segment number wins where segments overlap.
  order.sort((a, b) => a.segment - b.segment);
  for (const { n, k, segment } of order) {
    slices.add(k);
    const base = n * plane;
    for (let p = 0; p < plane; p++) if ((bits[(base + p) >> 3]! >> ((base + p) & 7)) & 1) labels[k * plane + p] = segment;
  }
  return {
    labelmap: createVolume({ ...source.volume, data: labels, modality: 'SEG' }),
    segments,
    slices: [...slices].sort((a, b) => a - b),
    seriesInstanceUID: String(ds.SeriesInstanceUID),
    referencedSeriesInstanceUID: ref,
  };
}
