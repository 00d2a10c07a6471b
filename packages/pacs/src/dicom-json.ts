/** A Person Name value in the DICOM JSON model (PS3.18 §F.2.2). */
export interface DicomJsonPersonName {
  readonly Alphabetic?: string;
  readonly Ideographic?: string;
  readonly Phonetic?: string;
}

/** One attribute in the DICOM JSON model: `{ vr, Value?, BulkDataURI?, InlineBinary? }`. */
export interface DicomJsonElement {
  readonly vr: string;
  readonly Value?: readonly unknown[];
  readonly BulkDataURI?: string;
  readonly InlineBinary?: string;
}

/** A dataset in the DICOM JSON model, keyed by 8-hex-digit tag ("0020000D"). */
export type DicomJsonDataset = Readonly<Record<string, DicomJsonElement | undefined>>;

/** Tags the summaries read, as DICOM JSON keys. */
export const TAG = {
  /** (0008,0016) SOP Class UID. */
  SOPClassUID: '00080016',
  /** (0008,0018) SOP Instance UID. */
  SOPInstanceUID: '00080018',
  /** (0008,0020) Study Date, YYYYMMDD. */
  StudyDate: '00080020',
  /** (0008,0030) Study Time. */
  StudyTime: '00080030',
  /** (0008,0050) Accession Number. */
  AccessionNumber: '00080050',
  /** (0008,0060) Modality of a series. */
  Modality: '00080060',
  /** (0008,0061) Modalities in Study. */
  ModalitiesInStudy: '00080061',
  /** (0008,1030) Study Description. */
  StudyDescription: '00081030',
  /** (0008,103E) Series Description. */
  SeriesDescription: '0008103E',
  /** (0008,1150) Referenced SOP Class UID (STOW-RS answers). */
  ReferencedSOPClassUID: '00081150',
  /** (0008,1155) Referenced SOP Instance UID (STOW-RS answers). */
  ReferencedSOPInstanceUID: '00081155',
  /** (0008,1190) Retrieve URL. */
  RetrieveURL: '00081190',
  /** (0008,1197) Failure Reason (STOW-RS answers). */
  FailureReason: '00081197',
  /** (0008,1198) Failed SOP Sequence (STOW-RS answers). */
  FailedSOPSequence: '00081198',
  /** (0008,1199) Referenced SOP Sequence: the stored instances (STOW-RS answers). */
  ReferencedSOPSequence: '00081199',
  /** (0010,0010) Patient's Name. */
  PatientName: '00100010',
  /** (0010,0020) Patient ID. */
  PatientID: '00100020',
  /** (0020,000D) Study Instance UID. */
  StudyInstanceUID: '0020000D',
  /** (0020,000E) Series Instance UID. */
  SeriesInstanceUID: '0020000E',
  /** (0020,0011) Series Number. */
  SeriesNumber: '00200011',
  /** (0020,0013) Instance Number. */
  InstanceNumber: '00200013',
  /** (0020,1206) Number of Study Related Series. */
  NumberOfStudyRelatedSeries: '00201206',
  /** (0020,1208) Number of Study Related Instances. */
  NumberOfStudyRelatedInstances: '00201208',
  /** (0020,1209) Number of Series Related Instances. */
  NumberOfSeriesRelatedInstances: '00201209',
  /** (0028,0008) Number of Frames. */
  NumberOfFrames: '00280008',
  /** (0028,0010) Rows. */
  Rows: '00280010',
  /** (0028,0011) Columns. */
  Columns: '00280011',
} as const;

/** All values of `tag` (empty when absent). */
export const values = (ds: DicomJsonDataset, tag: string): readonly unknown[] => ds[tag]?.Value ?? [];

/** First value of `tag` as a string (PN values give their Alphabetic form); undefined when absent or empty. */
export function str(ds: DicomJsonDataset, tag: string): string | undefined {
  const v = values(ds, tag)[0];
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number') return String(v);
  if (v !== null && typeof v === 'object') {
    const pn = v as DicomJsonPersonName;
    return pn.Alphabetic ?? pn.Ideographic ?? pn.Phonetic;
  }
  return undefined;
}

/** All string values of `tag` (multi-valued CS such as ModalitiesInStudy). */
export const strs = (ds: DicomJsonDataset, tag: string): string[] =>
  values(ds, tag).filter((v): v is string => typeof v === 'string' && v !== '');

/** First value of `tag` as a number (IS/DS may arrive as numbers or numeric strings); undefined when absent or not numeric. */
export function num(ds: DicomJsonDataset, tag: string): number | undefined {
  const v = values(ds, tag)[0];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Items of a sequence attribute. */
export const items = (ds: DicomJsonDataset, tag: string): DicomJsonDataset[] =>
  values(ds, tag).filter((v): v is DicomJsonDataset => v !== null && typeof v === 'object');

/** True when `x` looks like a DICOM JSON dataset (an object whose values have a `vr`). */
export function isDicomJsonDataset(x: unknown): x is DicomJsonDataset {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return false;
  return Object.values(x).every((e) => e !== null && typeof e === 'object' && typeof (e as { vr?: unknown }).vr === 'string');
}
