/// <reference path="./dcmjs.d.ts" />
import dcmjs from 'dcmjs';
import { DEFAULT_INTENSITY, HU_WINDOWS, percentiles, voxelCoord, voxelToPatient } from '@tomosort/volume';
import type { Volume } from '@tomosort/volume';
import { DicomError } from './errors';
import { SOP_CLASS } from './tags';
import { newUid } from './uid';

/** Identity and description of a series to write; UIDs are generated when not given. */
export interface SeriesMetadata {
  readonly patientName?: string;
  readonly patientID?: string;
  readonly studyInstanceUID?: string;
  readonly seriesInstanceUID?: string;
  readonly frameOfReferenceUID?: string;
  readonly studyDescription?: string;
  readonly seriesDescription?: string;
  readonly seriesNumber?: number;
  /** DICOM date (YYYYMMDD); default today. */
  readonly studyDate?: string;
  /** SOP Instance UID of slice k; default a fresh UID. Give it to make re-imports idempotent. */
  readonly sopInstanceUID?: (k: number) => string;
}

/** A written series: the Part-10 bytes of each slice (k = 0 first) and the UIDs used. */
export interface WrittenSeries {
  readonly files: readonly Uint8Array[];
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUIDs: readonly string[];
}

const IMPLEMENTATION_CLASS_UID = '2.25.203873118617417935226383815413557355331';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

const ds = (x: number) => +x.toFixed(6);
const today = () => new Date().toISOString().slice(0, 10).replaceAll('-', '');

/**
 * Writes a volume as a single-frame image series (CT Image Storage for CT, MR Image Storage
 * for MR, else Secondary Capture), one file per k-slice, explicit VR little endian, signed
 * 16-bit with RescaleSlope 1 / RescaleIntercept 0. ImagePositionPatient and
 * ImageOrientationPatient reproduce the volume's geometry exactly, so reading the files back
 * with readSeries returns the same voxels and geometry. Voxel values must be integers in int16 range.
 */
export function writeSeries(volume: Volume, meta: SeriesMetadata = {}): WrittenSeries {
  const [nx, ny, nz] = volume.dims;
  const plane = nx * ny;
  for (let n = 0; n < volume.data.length; n++) {
    const x = volume.data[n]!;
    if (!Number.isInteger(x) || x < -32768 || x > 32767) {
      throw new DicomError('writeSeries', `voxel ${n} = ${x} is not an integer in int16 range; round or rescale first`);
    }
  }
  const modality = volume.modality || 'OT';
  const sopClassUID = modality === 'CT' ? SOP_CLASS.CTImage : modality === 'MR' ? SOP_CLASS.MRImage : SOP_CLASS.SecondaryCapture;
  const studyInstanceUID = meta.studyInstanceUID ?? newUid();
  const seriesInstanceUID = meta.seriesInstanceUID ?? newUid();
  const frameOfReferenceUID = meta.frameOfReferenceUID ?? newUid();
  const date = meta.studyDate ?? today();
  const [rowDir, colDir] = volume.direction;
  // The window a viewer opens with: soft tissue for CT (the full range, −1024..3000 HU, shows
  // nothing); the robust range (0.5–99.5th percentiles) for other modalities.
  const [lo, hi] = modality === 'CT' ? [HU_WINDOWS.softTissue.center - HU_WINDOWS.softTissue.width / 2, HU_WINDOWS.softTissue.center + HU_WINDOWS.softTissue.width / 2] : (percentiles(volume.data, DEFAULT_INTENSITY.percentiles) as [number, number]);
  const files: Uint8Array[] = [];
  const sopInstanceUIDs: string[] = [];
  for (let k = 0; k < nz; k++) {
    const sopInstanceUID = meta.sopInstanceUID?.(k) ?? newUid();
    sopInstanceUIDs.push(sopInstanceUID);
    const pixels = Int16Array.from(volume.data.subarray(k * plane, (k + 1) * plane) as ArrayLike<number>);
    const position = voxelToPatient(volume, voxelCoord(0, 0, k));
    const dataset: Record<string, unknown> = {
      SpecificCharacterSet: 'ISO_IR 192',
      // CT images need a third value (AXIAL: a slice of a volume, whatever its plane).
      ImageType: modality === 'CT' ? ['DERIVED', 'SECONDARY', 'AXIAL'] : modality === 'MR' ? ['DERIVED', 'SECONDARY', 'OTHER'] : ['DERIVED', 'SECONDARY'],
      SOPClassUID: sopClassUID,
      SOPInstanceUID: sopInstanceUID,
      StudyDate: date,
      SeriesDate: date,
      StudyTime: '000000',
      AccessionNumber: '',
      Modality: modality,
      // Type 2C, unknown here: present and empty.
      Laterality: '',
      PatientPosition: '',
      ConversionType: sopClassUID === SOP_CLASS.SecondaryCapture ? 'WSD' : undefined,
      Manufacturer: 'tomosort',
      ReferringPhysicianName: '',
      StudyDescription: meta.studyDescription ?? '',
      SeriesDescription: meta.seriesDescription ?? '',
      PatientName: meta.patientName ?? 'Anonymous',
      PatientID: meta.patientID ?? 'tomosort',
      PatientBirthDate: '',
      PatientSex: '',
      SliceThickness: ds(volume.spacing[2]),
      KVP: modality === 'CT' ? '' : undefined,
      // The MR Image module's acquisition attributes: unknown for a converted volume ("RM" = research mode, Type 2 empty).
      ...(modality === 'MR'
        ? { ScanningSequence: 'RM', SequenceVariant: 'NONE', ScanOptions: '', MRAcquisitionType: '', RepetitionTime: '', EchoTime: '', EchoTrainLength: '' }
        : {}),
      StudyInstanceUID: studyInstanceUID,
      SeriesInstanceUID: seriesInstanceUID,
      StudyID: '1',
      SeriesNumber: meta.seriesNumber ?? 1,
      AcquisitionNumber: 1,
      InstanceNumber: k + 1,
      PatientOrientation: '',
      ImagePositionPatient: [ds(position[0]), ds(position[1]), ds(position[2])],
      ImageOrientationPatient: [...rowDir, ...colDir].map(ds),
      FrameOfReferenceUID: frameOfReferenceUID,
      PositionReferenceIndicator: '',
      SliceLocation: ds(position[2]),
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: ny,
      Columns: nx,
      PixelSpacing: [ds(volume.spacing[1]), ds(volume.spacing[0])],
      BitsAllocated: 16,
      BitsStored: 16,
      HighBit: 15,
      PixelRepresentation: 1,
      SmallestImagePixelValue: undefined,
      WindowCenter: ds((lo + hi) / 2),
      WindowWidth: ds(Math.max(1, hi - lo)),
      // Not part of the MR image IOD (the values are stored unscaled).
      RescaleIntercept: modality === 'MR' ? undefined : 0,
      RescaleSlope: modality === 'MR' ? undefined : 1,
      RescaleType: modality === 'MR' ? undefined : modality === 'CT' ? 'HU' : 'US',
      PixelData: [pixels.buffer],
      _vrMap: { PixelData: 'OW' },
    };
    for (const key of Object.keys(dataset)) if (dataset[key] === undefined) delete dataset[key];
    const fileMeta = {
      FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
      MediaStorageSOPClassUID: sopClassUID,
      MediaStorageSOPInstanceUID: sopInstanceUID,
      TransferSyntaxUID: EXPLICIT_LE,
      ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
      ImplementationVersionName: 'tomosort-0.1',
    };
    const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(fileMeta));
    dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
    files.push(new Uint8Array(dict.write()));
  }
  return { files, studyInstanceUID, seriesInstanceUID, sopInstanceUIDs };
}
