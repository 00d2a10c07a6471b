import { parseContentType } from './content-type';
import { array, datasets, json, multipart, object } from './decode';
import type { DicomJsonDataset } from './dicom-json';
import { isDicomJsonDataset } from './dicom-json';
import type { PacsRequestInfo } from './errors';
import { PacsArgumentError, PacsResponseError, PacsStowError, PacsTruncatedError } from './errors';
import type { HttpAnswer, HttpCall, Transport } from './http';
import { httpError, send } from './http';
import type { MultipartPart } from './multipart';
import { buildMultipart, randomBoundary } from './multipart';
import { sleep } from './signals';
import type { PacsClientOptions } from './options';
import { PACS_DEFAULTS, authorizationHeader } from './options';
import type {
  OrthancCollection,
  OrthancDeleteResult,
  OrthancFindOptions,
  OrthancLevel,
  OrthancResource,
  OrthancSystem,
  OrthancUploadResult,
} from './orthanc-types';
import { mapConcurrent } from './pool';
import type { StowResult } from './stow';
import { parseStowResponse } from './stow';
import type { InstanceSummary, SeriesSummary, StudySummary } from './summaries';
import { SUMMARY_FIELDS, toInstanceSummary, toSeriesSummary, toStudySummary } from './summaries';
import type { OrthancId, SeriesUid, SopInstanceUid, StudyUid } from './uids';
import type { QueryValue } from './url';
import { joinUrl, splitCredentials, withQuery } from './url';

/**
 * QIDO-RS query parameters: attribute matches by keyword or tag (`PatientName: 'DOE*'`,
 * `StudyDate: '20240101-20241231'`, `'00080060': 'CT'`) and the controls `limit`, `offset`,
 * `fuzzymatching` and `includefield` (a list, or 'all'). Arrays are sent comma-separated.
 */
export interface QidoQuery {
  readonly [attribute: string]: QueryValue;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call (and any retry wait); the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** One frame of a WADO-RS frames answer. */
export interface RetrievedFrame {
  /** 1-based frame number, as requested. */
  readonly frameNumber: number;
  /** The part's Content-Type, e.g. `application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1`. */
  readonly contentType: string;
  /** The transfer-syntax parameter of contentType, if any. */
  readonly transferSyntaxUID: string | undefined;
  /** Pixel bytes of the frame: uncompressed, or the compressed fragment for encapsulated syntaxes. */
  readonly bytes: Uint8Array;
}

/** Options of {@link PacsClient.uploadInstances}. */
export interface UploadManyOptions extends CallOptions {
  /** Uploads in flight at once. Default 4. */
  readonly concurrency?: number;
  /** Called after each upload with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

const JSON_ACCEPT = { Accept: 'application/json' } as const;
const DICOM_JSON_ACCEPT = { Accept: 'application/dicom+json' } as const;
const INSTANCE_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*';
const FRAMES_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';

/**
 * A typed client for Orthanc: DICOMweb (QIDO-RS, WADO-RS, STOW-RS) and a few Orthanc REST calls.
 * Runs in Node ≥ 18 and browsers (fetch only). Idempotent reads are retried on connection errors
 * and 5xx with exponential backoff; 4xx answers are never retried. Error messages name the
 * method and URL and never contain credentials.
 */
export class PacsClient {
  /** Orthanc root URL, without credentials and trailing slash. */
  readonly baseUrl: string;
  /** DICOMweb root URL (baseUrl + dicomWebRoot). */
  readonly dicomWebUrl: string;
  readonly #transport: Transport;

  constructor(options: PacsClientOptions) {
    const { url, credentials } = splitCredentials(options.baseUrl);
    this.baseUrl = joinUrl(url);
    this.dicomWebUrl = joinUrl(this.baseUrl, options.dicomWebRoot ?? PACS_DEFAULTS.dicomWebRoot);
    const auth = options.auth ?? (credentials ? { kind: 'basic' as const, ...credentials } : undefined);
    const retries = options.retries ?? PACS_DEFAULTS.retries;
    if (!Number.isInteger(retries) || retries < 0) throw new PacsArgumentError(`retries must be an integer ≥ 0, got ${retries}`);
    const timeoutMs = options.timeoutMs ?? PACS_DEFAULTS.timeoutMs;
    if (!(timeoutMs > 0)) throw new PacsArgumentError(`timeoutMs must be positive, got ${timeoutMs}`);
    this.#transport = {
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      authorization: auth ? authorizationHeader(auth) : undefined,
      timeoutMs,
      retries,
      retryDelayMs: options.retryDelayMs ?? PACS_DEFAULTS.retryDelayMs,
    };
  }

  /**
   * Where a server-side proxy forwards DICOMweb requests, with the Authorization header it must
   * add (so a browser reaches the PACS without ever holding its credentials). Never log it.
   */
  proxyTarget(): { readonly dicomWebUrl: string; readonly authorization?: string } {
    const authorization = this.#transport.authorization;
    return authorization === undefined ? { dicomWebUrl: this.dicomWebUrl } : { dicomWebUrl: this.dicomWebUrl, authorization };
  }

  // ---------------------------------------------------------------- QIDO-RS

  /** QIDO-RS GET {dicomweb}/studies. */
  async searchStudies(query?: QidoQuery, opts?: CallOptions): Promise<StudySummary[]> {
    const url = withQuery(joinUrl(this.dicomWebUrl, 'studies'), qido(query, SUMMARY_FIELDS.studies));
    return (await this.#qido(url, opts)).map(([ds, req]) => toStudySummary(ds, req));
  }

  /** QIDO-RS GET {dicomweb}/studies/{study}/series, or {dicomweb}/series across all studies. */
  async searchSeries(studyUid?: StudyUid, query?: QidoQuery, opts?: CallOptions): Promise<SeriesSummary[]> {
    const path = studyUid === undefined ? ['series'] : ['studies', seg(studyUid), 'series'];
    const url = withQuery(joinUrl(this.dicomWebUrl, ...path), qido(query, SUMMARY_FIELDS.series));
    return (await this.#qido(url, opts)).map(([ds, req]) => toSeriesSummary(ds, req));
  }

  /** QIDO-RS GET {dicomweb}/studies/{study}/series/{series}/instances. */
  async searchInstances(
    studyUid: StudyUid,
    seriesUid: SeriesUid,
    query?: QidoQuery,
    opts?: CallOptions,
  ): Promise<InstanceSummary[]> {
    const url = withQuery(
      joinUrl(this.dicomWebUrl, 'studies', seg(studyUid), 'series', seg(seriesUid), 'instances'),
      qido(query, SUMMARY_FIELDS.instances),
    );
    return (await this.#qido(url, opts)).map(([ds, req]) => toInstanceSummary(ds, req));
  }

  async #qido(url: string, opts?: CallOptions): Promise<[DicomJsonDataset, PacsRequestInfo][]> {
    const answer = await this.#send({ method: 'GET', url, headers: DICOM_JSON_ACCEPT, retry: 'idempotent', signal: opts?.signal });
    const req = { method: 'GET', url };
    if (answer.status === 204) return [];
    return datasets(answer, req).map((ds) => [ds, req]);
  }

  // ---------------------------------------------------------------- WADO-RS

  /** WADO-RS GET …/series/{series}/metadata: one DICOM JSON dataset per instance (bulk data as URIs). */
  async retrieveSeriesMetadata(studyUid: StudyUid, seriesUid: SeriesUid, opts?: CallOptions): Promise<DicomJsonDataset[]> {
    const url = joinUrl(this.dicomWebUrl, 'studies', seg(studyUid), 'series', seg(seriesUid), 'metadata');
    const answer = await this.#send({ method: 'GET', url, headers: DICOM_JSON_ACCEPT, retry: 'idempotent', signal: opts?.signal });
    return datasets(answer, { method: 'GET', url });
  }

  /**
   * WADO-RS GET …/instances/{sop} with `transfer-syntax=*`: the stored Part-10 file, byte for byte
   * (Orthanc does not transcode when any syntax is accepted). The result owns its buffer.
   */
  async retrieveInstance(
    studyUid: StudyUid,
    seriesUid: SeriesUid,
    sopUid: SopInstanceUid,
    opts?: CallOptions,
  ): Promise<Uint8Array> {
    const url = joinUrl(this.dicomWebUrl, 'studies', seg(studyUid), 'series', seg(seriesUid), 'instances', seg(sopUid));
    const parts = await this.#multipartGet(url, INSTANCE_ACCEPT, opts?.signal);
    if (parts.length !== 1) {
      throw new PacsResponseError('GET', url, `expected 1 part holding the instance, got ${parts.length}`);
    }
    return parts[0]!.body.slice();
  }

  /**
   * WADO-RS GET …/series/{series} with `transfer-syntax=*`: every stored Part-10 file of the
   * series in one multipart answer (order as the server sends it). One request instead of one
   * per instance: about 30x faster against Orthanc 1.10 for a 108-instance CT.
   */
  async retrieveSeries(studyUid: StudyUid, seriesUid: SeriesUid, opts?: CallOptions): Promise<Uint8Array[]> {
    const url = joinUrl(this.dicomWebUrl, 'studies', seg(studyUid), 'series', seg(seriesUid));
    return (await this.#multipartGet(url, INSTANCE_ACCEPT, opts?.signal)).map((p) => p.body.slice());
  }

  /** WADO-RS GET …/instances/{sop}/frames/{list}: the frames in the order asked (1-based numbers). */
  async retrieveFrames(
    studyUid: StudyUid,
    seriesUid: SeriesUid,
    sopUid: SopInstanceUid,
    frames: readonly number[],
    opts?: CallOptions,
  ): Promise<RetrievedFrame[]> {
    if (frames.length === 0 || frames.some((f) => !Number.isInteger(f) || f < 1)) {
      throw new PacsArgumentError(`frame numbers must be integers ≥ 1 (1-based), got [${frames.join(', ')}]`);
    }
    const url = joinUrl(
      this.dicomWebUrl, 'studies', seg(studyUid), 'series', seg(seriesUid), 'instances', seg(sopUid), 'frames', frames.join(','),
    );
    const parts = await this.#multipartGet(url, FRAMES_ACCEPT, opts?.signal);
    if (parts.length !== frames.length) {
      throw new PacsResponseError('GET', url, `asked for ${frames.length} frames, got ${parts.length} parts`);
    }
    return parts.map((p, i) => {
      const contentType = p.headers['content-type'] ?? 'application/octet-stream';
      return {
        frameNumber: frames[i]!,
        contentType,
        transferSyntaxUID: parseContentType(contentType).params['transfer-syntax'],
        bytes: p.body.slice(),
      };
    });
  }

  // ---------------------------------------------------------------- STOW-RS

  /**
   * STOW-RS POST {dicomweb}/studies[/{study}] with Part-10 files as multipart/related;
   * type="application/dicom". Resolves when every part was stored; otherwise throws
   * PacsStowError listing the failed SOP instances (Orthanc answers 400 or 409 then).
   * Retried on connection errors only: storing the same SOP instance again is harmless
   * (Orthanc keeps the first copy and reports success).
   */
  async storeInstances(parts: readonly Uint8Array[], studyUid?: StudyUid, opts?: CallOptions): Promise<StowResult> {
    if (parts.length === 0) throw new PacsArgumentError('storeInstances needs at least one instance');
    const url = joinUrl(this.dicomWebUrl, 'studies', ...(studyUid === undefined ? [] : [seg(studyUid)]));
    const boundary = randomBoundary();
    const answer = await this.#send({
      method: 'POST',
      url,
      headers: { ...DICOM_JSON_ACCEPT, 'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}` },
      body: buildMultipart(parts, boundary, 'application/dicom'),
      retry: 'connection',
      acceptStatus: [400, 409],
      signal: opts?.signal,
    });
    const req = { method: 'POST', url };
    let ds: unknown = {};
    try {
      if (answer.bytes.length) ds = json(answer, req);
    } catch (e) {
      if (answer.status < 300) throw e;
    }
    if (!isDicomJsonDataset(ds)) {
      // A 400/409 without a store report (e.g. Orthanc's JSON error for a malformed body).
      if (answer.status >= 300) throw httpError(req, answer);
      throw new PacsResponseError(req.method, req.url, 'STOW-RS answer is not a DICOM JSON dataset');
    }
    const result = parseStowResponse(answer.status, ds);
    if (answer.status >= 300 || result.failed.length > 0 || result.stored.length < parts.length) {
      throw new PacsStowError(req.url, answer.status, parts.length, result.stored.length, result.failed);
    }
    return result;
  }

  // ---------------------------------------------------------------- Orthanc REST

  /**
   * Orthanc POST /instances with one Part-10 file. Retried on connection errors (not on 5xx):
   * Orthanc is idempotent on re-upload of the same instance and answers `AlreadyStored`.
   */
  async uploadInstance(bytes: Uint8Array, opts?: CallOptions): Promise<OrthancUploadResult> {
    const url = joinUrl(this.baseUrl, 'instances');
    const answer = await this.#send({
      method: 'POST',
      url,
      headers: { ...JSON_ACCEPT, 'Content-Type': 'application/dicom' },
      body: bytes,
      retry: 'connection',
      signal: opts?.signal,
    });
    const req = { method: 'POST', url };
    const o = object(json(answer, req), req);
    if (typeof o['ID'] !== 'string' || typeof o['ParentSeries'] !== 'string') {
      throw new PacsResponseError(req.method, req.url, 'the upload answer has no ID or ParentSeries');
    }
    return {
      id: o['ID'] as OrthancId,
      status: o['Status'] as OrthancUploadResult['status'],
      path: String(o['Path'] ?? ''),
      parentPatient: o['ParentPatient'] as OrthancId,
      parentStudy: o['ParentStudy'] as OrthancId,
      parentSeries: o['ParentSeries'] as OrthancId,
    };
  }

  /** {@link uploadInstance} over many files with bounded concurrency; results keep input order. */
  async uploadInstances(files: readonly Uint8Array[], opts?: UploadManyOptions): Promise<OrthancUploadResult[]> {
    let done = 0;
    return mapConcurrent(
      files,
      opts?.concurrency ?? 4,
      async (bytes, _i, signal) => {
        const r = await this.uploadInstance(bytes, { signal });
        opts?.onProgress?.(++done, files.length);
        return r;
      },
      opts?.signal,
    );
  }

  /** Orthanc POST /tools/find: ids of the resources at `level` whose main tags match `query` (wildcards * and ?). */
  async find(level: OrthancLevel, query: Readonly<Record<string, string>>, opts?: OrthancFindOptions): Promise<OrthancId[]> {
    const ids = await this.#find(level, query, false, opts);
    return ids.map((v) => String(v) as OrthancId);
  }

  /** Orthanc POST /tools/find with Expand: the matching resources with their main DICOM tags. */
  async findExpanded(
    level: OrthancLevel,
    query: Readonly<Record<string, string>>,
    opts?: OrthancFindOptions,
  ): Promise<OrthancResource[]> {
    const found = await this.#find(level, query, true, opts);
    return found.map((r) => {
      const o = (r ?? {}) as Record<string, unknown>;
      return {
        id: String(o['ID']) as OrthancId,
        type: String(o['Type']),
        mainDicomTags: (o['MainDicomTags'] ?? {}) as Record<string, string>,
        raw: o,
      };
    });
  }

  async #find(level: OrthancLevel, query: Readonly<Record<string, string>>, expand: boolean, opts?: OrthancFindOptions): Promise<unknown[]> {
    const url = joinUrl(this.baseUrl, 'tools', 'find');
    const body: Record<string, unknown> = { Level: level, Query: query, Expand: expand };
    if (opts?.limit !== undefined) body['Limit'] = opts.limit;
    if (opts?.since !== undefined) body['Since'] = opts.since;
    if (opts?.caseSensitive !== undefined) body['CaseSensitive'] = opts.caseSensitive;
    // /tools/find only reads: safe to retry like a GET.
    const answer = await this.#send({
      method: 'POST',
      url,
      headers: { ...JSON_ACCEPT, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      retry: 'idempotent',
      signal: opts?.signal,
    });
    return array(json(answer, { method: 'POST', url }), { method: 'POST', url });
  }

  /**
   * The Orthanc id of the series with this SeriesInstanceUID (via POST /tools/lookup, a read
   * retried like a GET), or undefined when Orthanc does not hold it.
   */
  async orthancSeriesId(seriesUid: SeriesUid, opts?: CallOptions): Promise<OrthancId | undefined> {
    const url = joinUrl(this.baseUrl, 'tools', 'lookup');
    const answer = await this.#send({
      method: 'POST',
      url,
      headers: { ...JSON_ACCEPT, 'Content-Type': 'text/plain' },
      body: seriesUid,
      retry: 'idempotent',
      signal: opts?.signal,
    });
    const req = { method: 'POST', url };
    const hit = array(json(answer, req), req).find((r) => (r as { Type?: unknown } | null)?.Type === 'Series');
    return hit ? (String((hit as { ID: unknown }).ID) as OrthancId) : undefined;
  }

  /** Orthanc DELETE /{collection}/{id}. Not retried. Throws PacsHttpError 404 when the id is unknown. */
  async deleteResource(collection: OrthancCollection, id: OrthancId, opts?: CallOptions): Promise<OrthancDeleteResult> {
    const url = joinUrl(this.baseUrl, collection, seg(id));
    const answer = await this.#send({ method: 'DELETE', url, headers: JSON_ACCEPT, retry: 'never', signal: opts?.signal });
    const parsed = answer.bytes.length ? json(answer, { method: 'DELETE', url }) : {};
    const anc = (parsed as { RemainingAncestor?: { ID?: unknown; Type?: unknown } | null }).RemainingAncestor;
    return {
      remainingAncestor: anc ? { id: String(anc.ID) as OrthancId, type: String(anc.Type) } : undefined,
    };
  }

  /** Deletes the series with this SeriesInstanceUID; resolves false when Orthanc does not hold it. */
  async deleteSeries(seriesUid: SeriesUid, opts?: CallOptions): Promise<boolean> {
    const id = await this.orthancSeriesId(seriesUid, opts);
    if (id === undefined) return false;
    await this.deleteResource('series', id, opts);
    return true;
  }

  /** Orthanc GET /system: name, version, API version. A cheap liveness check. */
  async system(opts?: CallOptions): Promise<OrthancSystem> {
    const url = joinUrl(this.baseUrl, 'system');
    const answer = await this.#send({ method: 'GET', url, headers: JSON_ACCEPT, retry: 'idempotent', signal: opts?.signal });
    const o = object(json(answer, { method: 'GET', url }), { method: 'GET', url });
    return {
      name: String(o['Name'] ?? ''),
      version: String(o['Version'] ?? ''),
      apiVersion: typeof o['ApiVersion'] === 'number' ? o['ApiVersion'] : undefined,
      dicomAet: typeof o['DicomAet'] === 'string' ? o['DicomAet'] : undefined,
      pluginsEnabled: typeof o['PluginsEnabled'] === 'boolean' ? o['PluginsEnabled'] : undefined,
      raw: o,
    };
  }

  /** Orthanc GET /studies: ids of every study. */
  listStudies(opts?: CallOptions): Promise<OrthancId[]> {
    return this.#listIds('studies', opts);
  }

  /** Orthanc GET /series: ids of every series. */
  listSeriesIds(opts?: CallOptions): Promise<OrthancId[]> {
    return this.#listIds('series', opts);
  }

  async #listIds(collection: OrthancCollection, opts?: CallOptions): Promise<OrthancId[]> {
    const url = joinUrl(this.baseUrl, collection);
    const answer = await this.#send({ method: 'GET', url, headers: JSON_ACCEPT, retry: 'idempotent', signal: opts?.signal });
    const req = { method: 'GET', url };
    return array(json(answer, req), req).map((v) => String(v) as OrthancId);
  }

  #send(call: HttpCall): Promise<HttpAnswer> {
    return send(this.#transport, call);
  }

  /**
   * A WADO-RS GET answered with multipart/related, split into its parts. An answer cut off
   * mid-part (the connection broke after the headers) is retried like a 5xx, with the same
   * backoff; PacsTruncatedError after the last attempt.
   */
  async #multipartGet(url: string, accept: string, signal: AbortSignal | undefined): Promise<MultipartPart[]> {
    const t = this.#transport;
    for (let attempt = 1; ; attempt++) {
      const answer = await this.#send({ method: 'GET', url, headers: { Accept: accept }, retry: 'idempotent', signal });
      try {
        return multipart(answer, { method: 'GET', url });
      } catch (e) {
        if (!(e instanceof PacsTruncatedError)) throw e;
        if (attempt > t.retries) throw new PacsTruncatedError('GET', url, e.message.replace(/^GET \S+ returned an unreadable answer: /, ''), attempt);
        await sleep(t.retryDelayMs * 2 ** (attempt - 1), signal);
      }
    }
  }
}

/** A path segment: URL-encoded, never empty. */
function seg(value: string): string {
  if (!value) throw new PacsArgumentError('a UID or id in the path is empty');
  return encodeURIComponent(value);
}

/** The caller's QIDO query with the summary fields added to includefield (unless it asks for 'all'). */
function qido(query: QidoQuery | undefined, fields: readonly string[]): Record<string, QueryValue> {
  const out: Record<string, QueryValue> = { ...query };
  const asked = query?.['includefield'];
  const list = asked === undefined ? [] : Array.isArray(asked) ? asked.map(String) : [String(asked)];
  if (!list.includes('all')) out['includefield'] = [...new Set([...list, ...fields])];
  return out;
}
