import type { DicomJsonDataset } from './dicom-json';
import { TAG, items, num, str } from './dicom-json';
import type { StowFailure } from './errors';

/** One instance a STOW-RS store accepted. */
export interface StowStored {
  readonly sopClassUID: string | undefined;
  readonly sopInstanceUID: string | undefined;
  readonly retrieveUrl: string | undefined;
}

/** The STOW-RS store response (PS3.18 §10.5.3), naturalized. */
export interface StowResult {
  /** HTTP status: 200 when everything was stored. */
  readonly status: number;
  readonly stored: readonly StowStored[];
  readonly failed: readonly StowFailure[];
  readonly raw: DicomJsonDataset;
}

/** Reads ReferencedSOPSequence and FailedSOPSequence out of a store response. */
export function parseStowResponse(status: number, ds: DicomJsonDataset): StowResult {
  return {
    status,
    stored: items(ds, TAG.ReferencedSOPSequence).map((it) => ({
      sopClassUID: str(it, TAG.ReferencedSOPClassUID),
      sopInstanceUID: str(it, TAG.ReferencedSOPInstanceUID),
      retrieveUrl: str(it, TAG.RetrieveURL),
    })),
    failed: items(ds, TAG.FailedSOPSequence).map((it) => ({
      sopClassUID: str(it, TAG.ReferencedSOPClassUID),
      sopInstanceUID: str(it, TAG.ReferencedSOPInstanceUID),
      failureReason: num(it, TAG.FailureReason),
    })),
    raw: ds,
  };
}
