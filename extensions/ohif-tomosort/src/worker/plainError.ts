import { isModelError } from '@tomosort/models';
import { isPacsConnectionError, isPacsError, isPacsHttpError, isPacsTimeoutError } from '@tomosort/pacs';
import { oneLine } from '../panelMessage';

/** What the panel adds to every failure: the annotation lives in the viewer, not in the job. */
const KEPT = 'Nothing you annotated is lost.';

/**
 * A failed job in words a radiologist can act on: which part failed (the PACS, the model, the
 * series) and what to do; the technical detail follows in brackets for IT. Always one line.
 */
export function plainError(e: unknown): string {
  const detail = oneLine(e instanceof Error ? e.message : String(e));
  if (isPacsConnectionError(e) || isPacsTimeoutError(e)) {
    return `The PACS (Orthanc) cannot be reached. ${KEPT} Try again when it is back. (${detail})`;
  }
  if (isPacsHttpError(e) && (e.status === 502 || e.status === 503 || e.status === 504)) {
    return `The PACS (Orthanc) cannot be reached: the viewer's server answered HTTP ${e.status}. ${KEPT} Try again when it is back. (${detail})`;
  }
  if (isPacsHttpError(e) && (e.status === 401 || e.status === 403)) {
    return `The PACS refused the request (HTTP ${e.status}): the viewer's server has wrong or no Orthanc credentials; ask IT. ${KEPT} (${detail})`;
  }
  if (isPacsError(e)) return `The PACS failed: ${detail}. ${KEPT}`;
  if (isModelError(e)) return `This model cannot be used: ${detail}. ${KEPT}`;
  return `${detail.charAt(0).toUpperCase()}${detail.slice(1)}. ${KEPT}`;
}
