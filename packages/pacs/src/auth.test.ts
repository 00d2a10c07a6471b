import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64Utf8 } from './base64';
import { PacsClient } from './client';
import { PacsConnectionError, PacsHttpError, PacsTimeoutError } from './errors';
import type { LocalOrthanc } from './local/index';
import { startOrthanc } from './local/index';
import { CT_SMALL, rejectionOf } from './testing/fixtures';
import { closedPort, startSilentServer } from './testing/servers';
import { orthancId, seriesUid } from './uids';

const USER = 'alice';
const PASSWORD = 'Pw-7f3a9-secret';
const TOKEN = 'tok-5b1c2-secret';

/** Every rendering of an error a log could show: message, String(), stack, JSON of its own fields. */
function renderings(e: Error): string {
  return [e.message, String(e), e.stack ?? '', JSON.stringify({ ...e })].join('\n');
}

function expectNoSecrets(e: Error): void {
  const text = renderings(e);
  for (const secret of [PASSWORD, TOKEN, base64Utf8(`${USER}:${PASSWORD}`), 'Authorization', `${USER}:`]) {
    expect(text).not.toContain(secret);
  }
}

describe('authentication against an Orthanc with AuthenticationEnabled and RegisteredUsers', () => {
  let orthanc: LocalOrthanc;
  let withUserinfo: string;

  beforeAll(async () => {
    orthanc = await startOrthanc({ config: { AuthenticationEnabled: true, RegisteredUsers: { [USER]: PASSWORD } } });
    withUserinfo = orthanc.url.replace('http://', `http://${USER}:${PASSWORD}@`);
  });
  afterAll(async () => {
    await orthanc?.stop();
  });

  it('basic auth with the right password reaches /system and QIDO', async () => {
    const client = new PacsClient({ baseUrl: orthanc.url, auth: { kind: 'basic', username: USER, password: PASSWORD } });
    expect((await client.system()).version).toMatch(/^1\.10\./);
    expect(await client.searchStudies()).toEqual([]);
  });

  it('without credentials Orthanc answers PacsHttpError 401, not retried', async () => {
    const e = await rejectionOf(() => new PacsClient({ baseUrl: orthanc.url }).system());
    expect(e).toBeInstanceOf(PacsHttpError);
    expect([(e as PacsHttpError).status, (e as PacsHttpError).attempts]).toEqual([401, 1]);
  });

  it('credentials in the baseUrl userinfo become basic auth and are dropped from client.baseUrl', async () => {
    const client = new PacsClient({ baseUrl: withUserinfo });
    expect(client.baseUrl).toBe(orthanc.url);
    expect((await client.system()).version).toMatch(/^1\.10\./);
  });

  it('a wrong password: PacsHttpError 401 whose message, stack and fields hold no credentials', async () => {
    const client = new PacsClient({ baseUrl: orthanc.url, auth: { kind: 'basic', username: USER, password: `${PASSWORD}x` } });
    const e = await rejectionOf(() => client.system());
    expect((e as PacsHttpError).status).toBe(401);
    expect(e.message).toMatch(new RegExp(`^GET ${orthanc.url}/system failed with 401 Unauthorized`));
    expect(e.message).toMatch(/\(the PACS refused the credentials: set TOMOSORT_PACS_USER and TOMOSORT_PACS_PASSWORD, or TOMOSORT_PACS_TOKEN\)$/);
    expectNoSecrets(e);
  });

  it('a 404 with credentials in the baseUrl names the URL without them', async () => {
    const client = new PacsClient({ baseUrl: withUserinfo });
    const e = await rejectionOf(() => client.deleteResource('series', orthancId('00000000-00000000-00000000-00000000-00000000')));
    expect((e as PacsHttpError).status).toBe(404);
    expect((e as PacsHttpError).url).toBe(`${orthanc.url}/series/00000000-00000000-00000000-00000000-00000000`);
    expectNoSecrets(e);
  });

  it('connection refused with credentials in the baseUrl: PacsConnectionError without them', async () => {
    const port = await closedPort();
    const client = new PacsClient({ baseUrl: `http://${USER}:${PASSWORD}@127.0.0.1:${port}`, retries: 1, retryDelayMs: 1 });
    const e = await rejectionOf(() => client.orthancSeriesId(seriesUid(CT_SMALL.series)));
    expect(e).toBeInstanceOf(PacsConnectionError);
    expect(e.message).toContain(`http://127.0.0.1:${port}/tools/lookup`);
    expectNoSecrets(e);
    expectNoSecrets((e as PacsConnectionError).cause as Error);
  });

  it('a timeout with a bearer token: PacsTimeoutError without the token', async () => {
    const silent = await startSilentServer();
    try {
      const client = new PacsClient({ baseUrl: silent.url, auth: { kind: 'bearer', token: TOKEN }, timeoutMs: 100 });
      const e = await rejectionOf(() => client.system());
      expect(e).toBeInstanceOf(PacsTimeoutError);
      expectNoSecrets(e);
    } finally {
      await silent.close();
    }
  });
});
