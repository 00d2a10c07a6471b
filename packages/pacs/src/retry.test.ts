import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PacsClient } from './client';
import { PacsConnectionError, PacsHttpError, PacsTimeoutError, PacsTruncatedError } from './errors';
import type { LocalOrthanc } from './local/index';
import { startOrthanc } from './local/index';
import { CT_SMALL, readBytes, rejectionOf } from './testing/fixtures';
import type { Fault, TestServer } from './testing/servers';
import { closedPort, startFaultProxy, startSilentServer } from './testing/servers';
import { orthancId } from './uids';

const FAST = { retries: 3, retryDelayMs: 5 } as const;

describe('retries, timeouts and connection errors (real Orthanc behind a fault-injecting proxy)', () => {
  let orthanc: LocalOrthanc;
  let proxy: TestServer | undefined;
  const ct = readBytes(CT_SMALL.path);

  /** A proxy in front of Orthanc that applies `plan[n-1]` to request n ('pass' after the plan). */
  async function clientBehind(plan: readonly Fault[], opts: { retries?: number } = {}): Promise<PacsClient> {
    proxy = await startFaultProxy(orthanc.url, (n) => plan[n - 1] ?? 'pass');
    return new PacsClient({ baseUrl: proxy.url, ...FAST, ...opts });
  }

  beforeAll(async () => {
    orthanc = await startOrthanc();
    await new PacsClient({ baseUrl: orthanc.url }).uploadInstance(ct);
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(async () => {
    await orthanc?.stop();
  });

  it('WADO-RS series cut off mid-answer is retried: the next answer is whole, 2 requests', async () => {
    const client = await clientBehind([{ truncateAfter: 2000 }]);
    const files = await client.retrieveSeries(CT_SMALL.study, CT_SMALL.series);
    expect(files).toHaveLength(1);
    expect(files[0]!.length).toBe(ct.length);
    expect(proxy!.requests).toBe(2);
  });

  it('WADO-RS series cut off on every attempt: PacsTruncatedError after retries + 1 attempts, naming the part', async () => {
    const client = await clientBehind(Array.from({ length: 9 }, () => ({ truncateAfter: 2000 })), { retries: 2 });
    const e = await rejectionOf(() => client.retrieveSeries(CT_SMALL.study, CT_SMALL.series));
    expect(e).toBeInstanceOf(PacsTruncatedError);
    expect(e.message).toMatch(/returned an unreadable answer: part 1 is not closed by a boundary \(truncated answer\?\), after 3 attempts$/);
    expect(proxy!.requests).toBe(3);
  });

  it('GET /system after 2 dropped connections succeeds; the proxy saw 3 attempts', async () => {
    const client = await clientBehind(['drop', 'drop']);
    expect((await client.system()).version).toMatch(/^1\.10\./);
    expect(proxy!.requests).toBe(3);
  });

  it('QIDO after 3 dropped connections succeeds with retries=3; the proxy saw 4 attempts', async () => {
    const client = await clientBehind(['drop', 'drop', 'drop']);
    expect((await client.searchStudies()).map((s) => s.studyInstanceUID)).toEqual([CT_SMALL.study]);
    expect(proxy!.requests).toBe(4);
  });

  it('GET after 2 answers of 503 succeeds on attempt 3', async () => {
    const client = await clientBehind([{ status: 503 }, { status: 503 }]);
    expect(await client.retrieveInstance(CT_SMALL.study, CT_SMALL.series, CT_SMALL.sop)).toEqual(ct);
    expect(proxy!.requests).toBe(3);
  });

  it('GET that keeps dropping fails with PacsConnectionError after retries+1 = 3 attempts', async () => {
    const client = await clientBehind(['drop', 'drop', 'drop', 'drop'], { retries: 2 });
    const e = await rejectionOf(() => client.system());
    expect(e).toBeInstanceOf(PacsConnectionError);
    expect((e as PacsConnectionError).attempts).toBe(3);
    expect(proxy!.requests).toBe(3);
  });

  it('POST /tools/find (a read) is retried after a dropped connection: 2 attempts', async () => {
    const client = await clientBehind(['drop']);
    expect(await client.find('Study', { StudyInstanceUID: CT_SMALL.study })).toHaveLength(1);
    expect(proxy!.requests).toBe(2);
  });

  it('POST /instances is retried after a dropped connection (Orthanc de-duplicates): AlreadyStored after 2 attempts', async () => {
    const client = await clientBehind(['drop']);
    expect((await client.uploadInstance(ct)).status).toBe('AlreadyStored');
    expect(proxy!.requests).toBe(2);
  });

  it('POST /instances is not retried on 503: PacsHttpError 503 after 1 attempt', async () => {
    const client = await clientBehind([{ status: 503 }]);
    const e = await rejectionOf(() => client.uploadInstance(ct));
    expect(e).toBeInstanceOf(PacsHttpError);
    expect((e as PacsHttpError).status).toBe(503);
    expect(proxy!.requests).toBe(1);
  });

  it('DELETE is not retried after a dropped connection: PacsConnectionError after 1 attempt', async () => {
    const client = await clientBehind(['drop']);
    const e = await rejectionOf(() => client.deleteResource('series', orthancId('00000000-00000000-00000000-00000000-00000000')));
    expect(e).toBeInstanceOf(PacsConnectionError);
    expect((e as PacsConnectionError).attempts).toBe(1);
    expect(proxy!.requests).toBe(1);
  });

  it('a 404 is not retried: PacsHttpError 404 after 1 attempt, message names GET, the URL and Orthanc’s reason', async () => {
    const client = await clientBehind([]);
    const e = await rejectionOf(() => client.retrieveInstance(CT_SMALL.study, CT_SMALL.series, '1.2.3' as typeof CT_SMALL.sop));
    expect(e).toBeInstanceOf(PacsHttpError);
    const h = e as PacsHttpError;
    expect([h.status, h.attempts, proxy!.requests]).toEqual([404, 1, 1]);
    const url = `${proxy!.url}/dicom-web/studies/${CT_SMALL.study}/series/${CT_SMALL.series}/instances/1.2.3`;
    expect(h.url).toBe(url);
    expect(h.message).toBe(
      `GET ${url} failed with 404 Not Found: Accessing an inexistent item (Accessing an inexistent instance with WADO-RS: 1.2.3)`,
    );
  });

  it('nothing listening: PacsConnectionError naming the URL and ECONNREFUSED after retries+1 = 3 attempts', async () => {
    const port = await closedPort();
    const client = new PacsClient({ baseUrl: `http://127.0.0.1:${port}`, retries: 2, retryDelayMs: 5 });
    const e = await rejectionOf(() => client.system());
    expect(e).toBeInstanceOf(PacsConnectionError);
    const c = e as PacsConnectionError;
    expect([c.attempts, c.code, c.method]).toEqual([3, 'ECONNREFUSED', 'GET']);
    expect(c.message).toBe(`PACS (Orthanc) is unreachable at http://127.0.0.1:${port}/system: GET failed after 3 attempts (ECONNREFUSED)`);
  });

  it('a server that never answers: PacsTimeoutError after timeoutMs = 150, 1 attempt (timeouts are not retried)', async () => {
    const silent = await startSilentServer();
    try {
      const client = new PacsClient({ baseUrl: silent.url, timeoutMs: 150, ...FAST });
      const t0 = Date.now();
      const e = await rejectionOf(() => client.searchStudies());
      const elapsed = Date.now() - t0;
      expect(e).toBeInstanceOf(PacsTimeoutError);
      expect(e.message).toMatch(new RegExp(`^GET ${silent.url}/dicom-web/studies\\?includefield=\\S+ timed out after 150 ms$`));
      expect(elapsed).toBeGreaterThanOrEqual(140);
      expect(elapsed).toBeLessThan(2_000);
      expect(silent.requests).toBe(1);
    } finally {
      await silent.close();
    }
  });

  it('a caller signal aborts a hanging request with its own reason, not PacsTimeoutError', async () => {
    const silent = await startSilentServer();
    try {
      const client = new PacsClient({ baseUrl: silent.url, timeoutMs: 10_000 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('closed by the user')), 50);
      await expect(client.system({ signal: controller.signal })).rejects.toThrow('closed by the user');
    } finally {
      await silent.close();
    }
  });
});
