import { PacsArgumentError } from './errors';

/** A DICOM StudyInstanceUID (0020,000D). Branded so it cannot be passed where a series UID is due. */
export type StudyUid = string & { readonly __uid: 'study' };
/** A DICOM SeriesInstanceUID (0020,000E). */
export type SeriesUid = string & { readonly __uid: 'series' };
/** A DICOM SOPInstanceUID (0008,0018). */
export type SopInstanceUid = string & { readonly __uid: 'sop-instance' };
/**
 * Orthanc's own resource identifier (a SHA-1 of the UIDs, `xxxxxxxx-xxxxxxxx-…`), used by the
 * REST API (/series/{id}); never a DICOM UID.
 */
export type OrthancId = string & { readonly __uid: 'orthanc' };

const UID_MAX = 64;
const ORTHANC_ID = /^[0-9a-f]{8}(-[0-9a-f]{8}){4}$/;

function checkUid(kind: string, value: string): string {
  // DICOM pads odd-length UIDs with NUL; some writers pad with a space.
  const v = value.replace(/[\0 ]+$/, '');
  if (v.length === 0 || v.length > UID_MAX || /[\s/?#]/.test(v)) {
    throw new PacsArgumentError(`${kind} must be a DICOM UID of 1..${UID_MAX} characters, got ${JSON.stringify(value)}`);
  }
  return v;
}

/** Brands a string as a StudyInstanceUID (trailing NUL/space padding removed); throws PacsArgumentError when empty or malformed. */
export const studyUid = (s: string): StudyUid => checkUid('StudyInstanceUID', s) as StudyUid;
/** Brands a string as a SeriesInstanceUID; throws PacsArgumentError when empty or malformed. */
export const seriesUid = (s: string): SeriesUid => checkUid('SeriesInstanceUID', s) as SeriesUid;
/** Brands a string as a SOPInstanceUID; throws PacsArgumentError when empty or malformed. */
export const sopInstanceUid = (s: string): SopInstanceUid => checkUid('SOPInstanceUID', s) as SopInstanceUid;

/** Brands a string as an Orthanc resource id; throws PacsArgumentError unless it has Orthanc's 5×8 hex form. */
export function orthancId(s: string): OrthancId {
  if (!ORTHANC_ID.test(s)) {
    throw new PacsArgumentError(`an Orthanc id looks like 8 hex digits ×5 joined by '-', got ${JSON.stringify(s)}`);
  }
  return s as OrthancId;
}
