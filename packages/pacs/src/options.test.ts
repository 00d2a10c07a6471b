import { describe, expect, it } from 'vitest';
import { base64Utf8 } from './base64';
import { PacsArgumentError, PacsConfigError } from './errors';
import { PacsClient } from './client';
import { DEFAULT_PACS_URL, authorizationHeader, pacsConfigFromEnv } from './options';

describe('base64Utf8', () => {
  it.each([
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['alice:secret', 'YWxpY2U6c2VjcmV0'],
    ['é:ü', 'w6k6w7w='],
  ])('%j → %s', (input, expected) => {
    expect(base64Utf8(input)).toBe(expected);
    expect(base64Utf8(input)).toBe(Buffer.from(input, 'utf8').toString('base64'));
  });
});

describe('authorizationHeader', () => {
  it('basic → "Basic base64(user:password)", bearer → "Bearer token"', () => {
    expect(authorizationHeader({ kind: 'basic', username: 'orthanc', password: 'orthanc' })).toBe('Basic b3J0aGFuYzpvcnRoYW5j');
    expect(authorizationHeader({ kind: 'bearer', token: 'abc' })).toBe('Bearer abc');
  });
});

describe('pacsConfigFromEnv', () => {
  it.each([
    [{}, { baseUrl: DEFAULT_PACS_URL }],
    [{ TOMOSORT_PACS_URL: 'http://pacs:8042', TOMOSORT_PACS_USER: '' }, { baseUrl: 'http://pacs:8042' }],
    [
      { TOMOSORT_PACS_URL: '/pacs', TOMOSORT_PACS_USER: 'u', TOMOSORT_PACS_PASSWORD: 'p' },
      { baseUrl: '/pacs', auth: { kind: 'basic', username: 'u', password: 'p' } },
    ],
    [{ TOMOSORT_PACS_TOKEN: 't' }, { baseUrl: DEFAULT_PACS_URL, auth: { kind: 'bearer', token: 't' } }],
  ])('%j → %j', (env, expected) => {
    expect(pacsConfigFromEnv(env)).toEqual(expected);
  });

  it.each([
    [{ TOMOSORT_PACS_USER: 'u' }, 'TOMOSORT_PACS_USER and TOMOSORT_PACS_PASSWORD must be set together'],
    [{ TOMOSORT_PACS_PASSWORD: 'p' }, 'TOMOSORT_PACS_USER and TOMOSORT_PACS_PASSWORD must be set together'],
    [
      { TOMOSORT_PACS_USER: 'u', TOMOSORT_PACS_PASSWORD: 'p', TOMOSORT_PACS_TOKEN: 't' },
      'set either TOMOSORT_PACS_USER/TOMOSORT_PACS_PASSWORD or TOMOSORT_PACS_TOKEN, not both',
    ],
  ])('%j → PacsConfigError %s', (env, message) => {
    expect(() => pacsConfigFromEnv(env)).toThrow(new PacsConfigError(message));
  });
});

describe('PacsClient options', () => {
  it('strips the trailing slash and userinfo of baseUrl; dicomWebUrl defaults to baseUrl/dicom-web', () => {
    const c = new PacsClient({ baseUrl: 'http://u:p@host:8042/' });
    expect([c.baseUrl, c.dicomWebUrl]).toEqual(['http://host:8042', 'http://host:8042/dicom-web']);
  });

  it('keeps a relative proxy path as is and honours dicomWebRoot', () => {
    const c = new PacsClient({ baseUrl: '/pacs/', dicomWebRoot: '/wado/' });
    expect([c.baseUrl, c.dicomWebUrl]).toEqual(['/pacs', '/pacs/wado']);
  });

  it('rejects retries −1 and timeoutMs 0', () => {
    expect(() => new PacsClient({ baseUrl: '/x', retries: -1 })).toThrow(PacsArgumentError);
    expect(() => new PacsClient({ baseUrl: '/x', timeoutMs: 0 })).toThrow(PacsArgumentError);
  });

  it('a relative baseUrl outside a browser fails with PacsArgumentError, not a connection error', async () => {
    await expect(new PacsClient({ baseUrl: '/pacs' }).system()).rejects.toThrow(
      /^cannot send GET \/pacs\/system: .*outside a browser baseUrl must be absolute/,
    );
  });

  it('uses the injected fetch and sends Accept and Authorization', async () => {
    const seen: { url: string; headers: Record<string, string> }[] = [];
    const fake: typeof fetch = async (input, init) => {
      seen.push({ url: String(input), headers: init?.headers as Record<string, string> });
      return new Response('{"Name":"n","Version":"1.10.1"}', { status: 200 });
    };
    const c = new PacsClient({ baseUrl: 'http://h', auth: { kind: 'bearer', token: 'T' }, fetch: fake });
    expect((await c.system()).version).toBe('1.10.1');
    expect(seen).toEqual([{ url: 'http://h/system', headers: { Accept: 'application/json', Authorization: 'Bearer T' } }]);
  });
});
