import { join } from 'node:path';

/** Orthanc configuration JSON (the subset tomosort writes; any other key passes through). */
export type OrthancConfig = Readonly<Record<string, unknown>>;

/** Where a local Orthanc keeps its files inside its folder. */
export interface OrthancLayout {
  /** Orthanc's Name (shown by GET /system). Default `tomosort-local`. */
  readonly name?: string;
  readonly dir: string;
  readonly port: number;
  readonly plugin: string;
}

/** Folder under `dir` holding Orthanc's storage and index (SQLite). */
export const STORAGE_SUBDIR = 'db';

/**
 * The configuration of a private local Orthanc: HTTP only on `port` (1.10 binds every interface,
 * RemoteAccessAllowed false makes it refuse non-local clients), no DICOM (C-STORE) server, no
 * authentication, storage and index in `<dir>/db`, the DICOMweb plugin at /dicom-web/. Limits suit
 * a developer machine: 16 HTTP threads, 2 concurrent jobs that are not persisted, a series counts as
 * stable after 5 s, no storage cap. `overrides` are merged on top (shallowly; DicomWeb one level deeper).
 */
export function orthancConfig(layout: OrthancLayout, overrides: OrthancConfig = {}): OrthancConfig {
  const storage = join(layout.dir, STORAGE_SUBDIR);
  const base: Record<string, unknown> = {
    Name: layout.name ?? 'tomosort-local',
    HttpPort: layout.port,
    HttpServerEnabled: true,
    DicomServerEnabled: false,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    StorageDirectory: storage,
    IndexDirectory: storage,
    Plugins: [layout.plugin],
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
    HttpThreadsCount: 16,
    HttpRequestTimeout: 60,
    KeepAlive: true,
    ConcurrentJobs: 2,
    SaveJobs: false,
    StableAge: 5,
    // No storage cap: the folder belongs to this instance. Cap it per deployment via overrides.
    MaximumStorageSize: 0,
    MaximumPatientCount: 0,
    LimitFindResults: 0,
    LimitFindInstances: 0,
    OverwriteInstances: false,
  };
  const dicomWeb = { ...(base['DicomWeb'] as object), ...((overrides['DicomWeb'] as object | undefined) ?? {}) };
  return { ...base, ...overrides, DicomWeb: dicomWeb };
}
