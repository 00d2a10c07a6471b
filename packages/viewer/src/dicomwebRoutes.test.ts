import { describe, expect, it } from 'vitest';
import { dicomWebRoute } from './dicomwebRoutes';

const S = '1.2.840.113619.2.55.3';
const R = '1.3.12.2.1107.5.1.4';
const I = '1.3.6.1.4.1.9328.50.1.2';

describe('dicomWebRoute: what the proxy forwards', () => {
  it.each([
    ['GET', '/studies'],
    ['GET', '/series'],
    ['GET', '/instances'],
    ['HEAD', `/studies/${S}`],
    ['GET', `/studies/${S}/metadata`],
    ['GET', `/studies/${S}/series`],
    ['GET', `/studies/${S}/instances`],
    ['GET', `/studies/${S}/rendered`],
    ['GET', `/studies/${S}/series/${R}`],
    ['GET', `/studies/${S}/series/${R}/metadata`],
    ['GET', `/studies/${S}/series/${R}/instances`],
    ['GET', `/studies/${S}/series/${R}/thumbnail`],
    ['GET', `/studies/${S}/series/${R}/instances/${I}`],
    ['GET', `/studies/${S}/series/${R}/instances/${I}/metadata`],
    ['GET', `/studies/${S}/series/${R}/instances/${I}/frames/1`],
    ['GET', `/studies/${S}/series/${R}/instances/${I}/frames/1,2,3/rendered`],
    ['GET', `/studies/${S}/series/${R}/instances/${I}/bulk/7fe00010`],
    ['GET', `/studies/${S}/series/${R}/instances/${I}/bulk/00081140/0/00081155`],
    ['POST', '/studies'],
    ['POST', `/studies/${S}`],
  ])('%s %s is forwarded as it is', (method, path) => {
    expect(dicomWebRoute(method, path)).toEqual({ ok: true, path });
  });

  it.each([
    ['GET', '/../instances', 400],
    ['GET', '/%2e%2e/system', 400],
    ['GET', '/studies/..%2f..%2fsystem', 400],
    ['GET', '/studies\\..\\system', 400],
    ['GET', '/studies/./series', 400],
    ['GET', '//studies', 400],
    ['GET', '/studies/', 400],
    ['GET', '', 404],
    ['GET', '/system', 404],
    ['GET', '/tools/find', 404],
    ['GET', '/studies/abc', 404],
    ['GET', `/studies/${S}/archive`, 404],
    ['GET', `/studies/${S}/series/${R}/instances/${I}/frames/`, 400],
    ['GET', `/studies/${S}/series/${R}/instances/${I}/frames/1;2`, 400],
    ['GET', `/studies/${'1'.repeat(65)}`, 404],
    ['POST', '/series', 405],
    ['POST', `/studies/${S}/series`, 405],
    ['DELETE', '/studies', 405],
    ['PUT', `/studies/${S}`, 405],
    ['OPTIONS', '/studies', 405],
  ])('%s %s → %i', (method, path, status) => {
    const d = dicomWebRoute(method, path);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.status).toBe(status);
  });

  it('says which methods a read-only route allows', () => {
    expect(dicomWebRoute('POST', '/series')).toMatchObject({ ok: false, status: 405, allow: 'GET, HEAD' });
    expect(dicomWebRoute('DELETE', '/studies')).toMatchObject({ ok: false, status: 405, allow: 'GET, HEAD, POST' });
  });
});
