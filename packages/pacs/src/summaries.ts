import type { DicomJsonDataset } from './dicom-json';
import { TAG, num, str, strs } from './dicom-json';
import type { PacsRequestInfo } from './errors';
import { PacsResponseError } from './errors';
import type { SeriesUid, SopInstanceUid, StudyUid } from './uids';

/** A QIDO-RS study match, naturalized. `raw` keeps every attribute the server sent. */
export interface StudySummary {
  readonly studyInstanceUID: StudyUid;
  readonly patientName: string | undefined;
  readonly patientID: string | undefined;
  /** YYYYMMDD as stored. */
  readonly studyDate: string | undefined;
  readonly studyDescription: string | undefined;
  readonly accessionNumber: string | undefined;
  /** ModalitiesInStudy, e.g. ['CT']. */
  readonly modalities: readonly string[];
  readonly numberOfSeries: number | undefined;
  readonly numberOfInstances: number | undefined;
  readonly raw: DicomJsonDataset;
}

/** A QIDO-RS series match, naturalized. */
export interface SeriesSummary {
  readonly studyInstanceUID: StudyUid;
  readonly seriesInstanceUID: SeriesUid;
  readonly modality: string | undefined;
  readonly seriesNumber: number | undefined;
  readonly seriesDescription: string | undefined;
  readonly numberOfInstances: number | undefined;
  readonly raw: DicomJsonDataset;
}

/** A QIDO-RS instance match, naturalized. */
export interface InstanceSummary {
  readonly studyInstanceUID: StudyUid;
  readonly seriesInstanceUID: SeriesUid;
  readonly sopInstanceUID: SopInstanceUid;
  readonly sopClassUID: string | undefined;
  readonly instanceNumber: number | undefined;
  readonly rows: number | undefined;
  readonly columns: number | undefined;
  readonly numberOfFrames: number | undefined;
  readonly raw: DicomJsonDataset;
}

function required(ds: DicomJsonDataset, tag: string, keyword: string, req: PacsRequestInfo): string {
  const v = str(ds, tag);
  if (v === undefined) throw new PacsResponseError(req.method, req.url, `a match lacks ${keyword} (${tag})`);
  return v;
}

/** Naturalizes a study-level dataset; throws PacsResponseError when StudyInstanceUID is missing. */
export function toStudySummary(ds: DicomJsonDataset, req: PacsRequestInfo): StudySummary {
  return {
    studyInstanceUID: required(ds, TAG.StudyInstanceUID, 'StudyInstanceUID', req) as StudyUid,
    patientName: str(ds, TAG.PatientName),
    patientID: str(ds, TAG.PatientID),
    studyDate: str(ds, TAG.StudyDate),
    studyDescription: str(ds, TAG.StudyDescription),
    accessionNumber: str(ds, TAG.AccessionNumber),
    modalities: strs(ds, TAG.ModalitiesInStudy),
    numberOfSeries: num(ds, TAG.NumberOfStudyRelatedSeries),
    numberOfInstances: num(ds, TAG.NumberOfStudyRelatedInstances),
    raw: ds,
  };
}

/** Naturalizes a series-level dataset; throws PacsResponseError when a UID is missing. */
export function toSeriesSummary(ds: DicomJsonDataset, req: PacsRequestInfo): SeriesSummary {
  return {
    studyInstanceUID: required(ds, TAG.StudyInstanceUID, 'StudyInstanceUID', req) as StudyUid,
    seriesInstanceUID: required(ds, TAG.SeriesInstanceUID, 'SeriesInstanceUID', req) as SeriesUid,
    modality: str(ds, TAG.Modality),
    seriesNumber: num(ds, TAG.SeriesNumber),
    seriesDescription: str(ds, TAG.SeriesDescription),
    numberOfInstances: num(ds, TAG.NumberOfSeriesRelatedInstances),
    raw: ds,
  };
}

/** Naturalizes an instance-level dataset; throws PacsResponseError when a UID is missing. */
export function toInstanceSummary(ds: DicomJsonDataset, req: PacsRequestInfo): InstanceSummary {
  return {
    studyInstanceUID: required(ds, TAG.StudyInstanceUID, 'StudyInstanceUID', req) as StudyUid,
    seriesInstanceUID: required(ds, TAG.SeriesInstanceUID, 'SeriesInstanceUID', req) as SeriesUid,
    sopInstanceUID: required(ds, TAG.SOPInstanceUID, 'SOPInstanceUID', req) as SopInstanceUid,
    sopClassUID: str(ds, TAG.SOPClassUID),
    instanceNumber: num(ds, TAG.InstanceNumber),
    rows: num(ds, TAG.Rows),
    columns: num(ds, TAG.Columns),
    numberOfFrames: num(ds, TAG.NumberOfFrames),
    raw: ds,
  };
}

/** includefield values the client adds to each QIDO level so that the summaries are filled. */
export const SUMMARY_FIELDS = {
  studies: [TAG.StudyDescription, TAG.ModalitiesInStudy, TAG.NumberOfStudyRelatedSeries, TAG.NumberOfStudyRelatedInstances],
  series: [TAG.SeriesDescription, TAG.SeriesNumber, TAG.NumberOfSeriesRelatedInstances],
  instances: [TAG.InstanceNumber, TAG.SOPClassUID, TAG.Rows, TAG.Columns, TAG.NumberOfFrames],
} as const;
