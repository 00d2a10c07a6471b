import type { OrthancId } from './uids';

/** Orthanc's answer to POST /instances. */
export interface OrthancUploadResult {
  readonly id: OrthancId;
  /** `Success` on first store, `AlreadyStored` when the same SOP instance was stored before. */
  readonly status: 'Success' | 'AlreadyStored' | 'FilteredOut';
  readonly path: string;
  readonly parentPatient: OrthancId;
  readonly parentStudy: OrthancId;
  readonly parentSeries: OrthancId;
}

/** Orthanc's GET /system, the fields the client reads plus the raw object. */
export interface OrthancSystem {
  readonly name: string;
  readonly version: string;
  readonly apiVersion: number | undefined;
  readonly dicomAet: string | undefined;
  readonly pluginsEnabled: boolean | undefined;
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Resource levels of POST /tools/find. */
export type OrthancLevel = 'Patient' | 'Study' | 'Series' | 'Instance';

/** REST collections that DELETE /{collection}/{id} removes from. */
export type OrthancCollection = 'patients' | 'studies' | 'series' | 'instances';

/** Options of POST /tools/find beyond Level and Query. */
export interface OrthancFindOptions {
  /** At most this many results. */
  readonly limit?: number;
  /** Skip this many results first (paging). */
  readonly since?: number;
  /** Match DICOM tags case-sensitively (Orthanc's default is true for most tags). */
  readonly caseSensitive?: boolean;
  readonly signal?: AbortSignal;
}

/** A resource from POST /tools/find with Expand: true. */
export interface OrthancResource {
  readonly id: OrthancId;
  readonly type: string;
  /** MainDicomTags by keyword, e.g. { SeriesInstanceUID, Modality }. */
  readonly mainDicomTags: Readonly<Record<string, string>>;
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Orthanc's answer to DELETE: the closest ancestor left, if any. */
export interface OrthancDeleteResult {
  readonly remainingAncestor: { readonly id: OrthancId; readonly type: string } | undefined;
}
