import type { DicomJsonDataset } from './dicom-json';
import { isDicomJsonDataset } from './dicom-json';
import type { PacsRequestInfo } from './errors';
import { PacsResponseError, PacsTruncatedError } from './errors';
import type { HttpAnswer } from './http';
import type { MultipartPart } from './multipart';
import { MultipartSyntaxError, MultipartTruncatedError, multipartBoundary, parseMultipart } from './multipart';

// Readers of 2xx answers: each throws PacsResponseError naming the request when the body is not
// what the protocol promises.

/** The body parsed as JSON. */
export function json(answer: HttpAnswer, req: PacsRequestInfo): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(answer.bytes));
  } catch (e) {
    throw new PacsResponseError(req.method, req.url, `invalid JSON (${(e as Error).message})`);
  }
}

/** `value` when it is an array. */
export function array(value: unknown, req: PacsRequestInfo): unknown[] {
  if (!Array.isArray(value)) throw new PacsResponseError(req.method, req.url, 'expected a JSON array');
  return value;
}

/** `value` when it is a plain object. */
export function object(value: unknown, req: PacsRequestInfo): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PacsResponseError(req.method, req.url, 'expected a JSON object');
  }
  return value as Record<string, unknown>;
}

/** The body as an array of DICOM JSON datasets (QIDO-RS, WADO-RS metadata). */
export function datasets(answer: HttpAnswer, req: PacsRequestInfo): DicomJsonDataset[] {
  const list = array(json(answer, req), req);
  if (!list.every(isDicomJsonDataset)) throw new PacsResponseError(req.method, req.url, 'expected an array of DICOM JSON datasets');
  return list;
}

/** The parts of a multipart/related body, using the boundary of its Content-Type. */
export function multipart(answer: HttpAnswer, req: PacsRequestInfo): MultipartPart[] {
  try {
    return parseMultipart(answer.bytes, multipartBoundary(answer.headers.get('content-type') ?? ''));
  } catch (e) {
    if (e instanceof MultipartTruncatedError) throw new PacsTruncatedError(req.method, req.url, e.message);
    if (e instanceof MultipartSyntaxError) throw new PacsResponseError(req.method, req.url, e.message);
    throw e;
  }
}
