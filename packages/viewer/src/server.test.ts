import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@tomosort/backend/node';
import { createModel, encoderSpec, expectKind, scoreModelSpec } from '@tomosort/models';
import { saveModelToDir } from '@tomosort/models/node';
import { PacsClient, buildMultipart } from '@tomosort/pacs';
import { startOrthanc } from '@tomosort/pacs/local';
import type { LocalOrthanc } from '@tomosort/pacs/local';
import { BRAIN, CT_SMALL, MR_SMALL, readBytes } from '@tomosort/pacs/testing';
import type { ProxyTarget } from './server';
import { buildExtensionBundles } from './bundle';
import { startViewerServer } from './server';
import type { ViewerServer } from './server';

const OHIF = resolve(__dirname, '..', '..', '..', '.cache', 'ohif', '3.13.2', 'dist');
const USER = 'radiology';
const PASSWORD = 'Pw-viewer-93c1-secret';

let orthanc: LocalOrthanc;
let viewer: ViewerServer;
let target: ProxyTarget;
let scratch: string;
const proxyErrors: string[] = [];

beforeAll(async () => {
  await initNodeBackend('cpu');
  scratch = mkdtempSync(join(tmpdir(), 'tomosort-viewer-'));
  orthanc = await startOrthanc({ config: { AuthenticationEnabled: true, RegisteredUsers: { [USER]: PASSWORD } } });
  const pacs = new PacsClient({ baseUrl: orthanc.url, auth: { kind: 'basic', username: USER, password: PASSWORD } });
  await pacs.uploadInstance(readBytes(CT_SMALL.path));
  const model = createModel(scoreModelSpec(encoderSpec('small')), { seed: 0 });
  await saveModelToDir(expectKind(model, 'score'), { method: 'sorting', inputSize: 32, plane: 'axial', huWindow: { center: 40, width: 400 }, sliceSpacingMm: 3, steps: 7, metrics: {} }, join(scratch, 'models', 'sorting-small'));
  model.dispose();
  await buildExtensionBundles(join(scratch, 'assets'));
  viewer = await startViewerServer({
    ohifDir: OHIF,
    assetsDir: join(scratch, 'assets'),
    modelsDir: join(scratch, 'models'),
    pacs: (target = pacs.proxyTarget()),
    port: 0,
    onProxyError: (m) => proxyErrors.push(m),
  });
}, 120_000);

afterAll(async () => {
  await viewer?.close();
  await orthanc?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** A raw GET (fetch would normalise ../ away). */
function rawGet(url: string, path: string): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(`${url}${path}`, { method: 'GET', path }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on('error', fail);
    req.end();
  });
}

/** A raw request: the path goes out exactly as written (no normalisation), with these headers and body. */
function raw(url: string, method: string, path: string, options: { headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<{ status: number; text: string }> {
  return new Promise((ok, fail) => {
    const req = request(url, { method, path, headers: options.headers ?? {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', fail);
    req.end(options.body);
  });
}

/** Instances Orthanc holds (its REST API, straight, with the credentials). */
async function instanceCount(): Promise<number> {
  const res = await fetch(`${orthanc.url}/statistics`, { headers: { Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` } });
  return ((await res.json()) as { CountInstances: number }).CountInstances;
}

const STOW_BOUNDARY = 'tomosort-test-boundary';
const stowHeaders = { 'Content-Type': `multipart/related; type="application/dicom"; boundary=${STOW_BOUNDARY}`, Accept: 'application/dicom+json' };

describe('tomosort viewer server (published OHIF 3.13.2, real Orthanc with authentication)', () => {
  it('proxies DICOMweb on the same origin with the server-side credentials; the browser never sees them', async () => {
    const res = await fetch(`${viewer.url}/dicom-web/studies`);
    expect(res.status).toBe(200);
    const studies = (await res.json()) as Record<string, { Value?: string[] }>[];
    expect(studies.map((s) => s['0020000D']?.Value?.[0])).toEqual([CT_SMALL.study]);
    expect(res.headers.get('www-authenticate')).toBeNull();
    const config = await (await fetch(`${viewer.url}/app-config.js`)).text();
    expect(config).toContain("'/dicom-web'");
    expect(config).not.toContain(PASSWORD);
    expect(config).not.toContain(USER);
  });

  it('STOW-RS through the proxy stores a new instance (how the viewer exports SEGs)', async () => {
    const boundary = 'tomosort-test-boundary';
    const body = buildMultipart([readBytes(MR_SMALL.path)], boundary, 'application/dicom');
    const res = await fetch(`${viewer.url}/dicom-web/studies`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`, Accept: 'application/dicom+json' },
      body,
    });
    expect(res.status).toBe(200);
    const studies = (await (await fetch(`${viewer.url}/dicom-web/studies`)).json()) as unknown[];
    expect(studies).toHaveLength(2);
  });

  it('sends COOP/COEP/CORP on every response (cross-origin isolation for threaded wasm and WebGPU timing)', async () => {
    for (const path of ['/', '/app-config.js', '/tomosort/extension.mjs', '/dicom-web/studies', '/tomosort-models/index.json']) {
      const res = await fetch(`${viewer.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('cross-origin-opener-policy'), path).toBe('same-origin');
      expect(res.headers.get('cross-origin-embedder-policy'), path).toBe('require-corp');
      expect(res.headers.get('cross-origin-resource-policy'), path).toBe('same-origin');
    }
  });

  it('serves the OHIF app for its routes, the extension and mode bundles, and the model store with manifests', async () => {
    const index = await (await fetch(`${viewer.url}/tomosort-sparse?StudyInstanceUIDs=${CT_SMALL.study}`)).text();
    expect(index).toBe(readFileSync(join(OHIF, 'index.html'), 'utf8'));
    const ext = await fetch(`${viewer.url}/tomosort/extension.mjs`);
    expect(ext.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await ext.text()).toContain('Sparse annotation');
    expect(await (await fetch(`${viewer.url}/tomosort/mode.mjs`)).text()).toContain('tomosort-sparse');
    const models = (await (await fetch(`${viewer.url}/tomosort-models/index.json`)).json()) as { name: string; manifest: { method: string; inputSize: number; steps: number } }[];
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ name: 'sorting-small', manifest: { method: 'sorting', inputSize: 32, steps: 7 } });
    const weights = await fetch(`${viewer.url}/tomosort-models/sorting-small/weights.bin`);
    expect(new Uint8Array(await weights.arrayBuffer())).toEqual(new Uint8Array(readFileSync(join(scratch, 'models', 'sorting-small', 'weights.bin'))));
  });

  it('does not serve files outside its folders (../ in the path)', async () => {
    expect(await rawGet(viewer.url, '/tomosort/../../../../etc/passwd')).toBe(404);
    expect(await rawGet(viewer.url, '/tomosort-models/%2e%2e/%2e%2e/etc/passwd')).toBe(404);
  });

  it('answers 502 in plain words when the PACS is down, logs it, and keeps serving', async () => {
    const down = await startViewerServer({ ohifDir: OHIF, assetsDir: join(scratch, 'assets'), pacs: { dicomWebUrl: 'http://127.0.0.1:9/dicom-web' }, port: 0, onProxyError: (m) => proxyErrors.push(m) });
    try {
      const res = await fetch(`${down.url}/dicom-web/studies`);
      expect(res.status).toBe(502);
      expect(await res.text()).toMatch(/^The PACS did not answer/);
      expect(proxyErrors.some((m) => m.startsWith('GET /dicom-web/studies: the PACS did not answer'))).toBe(true);
      expect((await fetch(`${down.url}/app-config.js`)).status).toBe(200);
    } finally {
      await down.close();
    }
  });
});

describe('the proxy exposes DICOMweb only: every way round it is refused and never reaches Orthanc', () => {
  const dicom = () => buildMultipart([readBytes(MR_SMALL.path)], STOW_BOUNDARY, 'application/dicom');
  it.each([
    ['GET', '/dicom-web/../instances'],
    ['GET', '/dicom-web/../system'],
    ['GET', '/dicom-web/%2e%2e/changes'],
    ['GET', '/dicom-web/.%2e/app/explorer.html'],
    ['GET', '/dicom-web/studies/..%2f..%2fsystem'],
    ['GET', '/dicom-web/studies\\..\\..\\system'],
    ['GET', '/dicom-web/studies/./series'],
    ['GET', '/dicom-web//system'],
    ['GET', '/dicom-web/system'],
    ['GET', '/dicom-web/studies/1.2.3/archive'],
    ['POST', '/dicom-web/%2e%2e%2finstances'],
    ['POST', '/dicom-web/..%2ftools%2fbulk-delete'],
    ['POST', '/dicom-web/%2e%2e%2ftools%2fshutdown'],
    ['POST', '/dicom-web/series'],
    ['DELETE', '/dicom-web/studies'],
    ['PUT', '/dicom-web/studies'],
    ['OPTIONS', '/dicom-web/studies'],
  ])('%s %s: 4xx, no instance added or removed, Orthanc still up', async (method, path) => {
    const before = await instanceCount();
    const res = await raw(viewer.url, method, path, method === 'POST' ? { headers: stowHeaders, body: dicom() } : {});
    expect([400, 404, 405]).toContain(res.status);
    expect(res.text).not.toMatch(/Orthanc|"Version"/);
    expect(await instanceCount()).toBe(before);
    expect((await fetch(`${viewer.url}/dicom-web/studies`)).status).toBe(200);
  });

  it('still forwards the DICOMweb reads the viewer makes (QIDO, metadata, frames, with queries)', async () => {
    const studies = await fetch(`${viewer.url}/dicom-web/studies?limit=10&includefield=00081030`);
    expect(studies.status).toBe(200);
    const series = (await (await fetch(`${viewer.url}/dicom-web/studies/${CT_SMALL.study}/series`)).json()) as Record<string, { Value?: string[] }>[];
    const seriesUid = series[0]!['0020000E']!.Value![0]!;
    const instances = (await (await fetch(`${viewer.url}/dicom-web/studies/${CT_SMALL.study}/series/${seriesUid}/instances`)).json()) as Record<string, { Value?: string[] }>[];
    const sop = instances[0]!['00080018']!.Value![0]!;
    expect((await fetch(`${viewer.url}/dicom-web/studies/${CT_SMALL.study}/series/${seriesUid}/metadata`)).status).toBe(200);
    const frame = await fetch(`${viewer.url}/dicom-web/studies/${CT_SMALL.study}/series/${seriesUid}/instances/${sop}/frames/1`, { headers: { Accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' } });
    expect(frame.status).toBe(200);
    expect((await frame.arrayBuffer()).byteLength).toBeGreaterThan(128 * 128 * 2);
  });

  it('answers only to its own Host names: a DNS-rebinding Host gets 421', async () => {
    const port = new URL(viewer.url).port;
    expect((await raw(viewer.url, 'GET', '/dicom-web/studies', { headers: { Host: `attacker.example:${port}` } })).status).toBe(421);
    expect((await raw(viewer.url, 'GET', '/', { headers: { Host: 'attacker.example' } })).status).toBe(421);
    expect((await raw(viewer.url, 'GET', '/dicom-web/studies', { headers: { Host: `localhost:${port}` } })).status).toBe(200);
  });

  it('refuses writes from pages of other origins (Origin, Sec-Fetch-Site), storing nothing', async () => {
    const before = await instanceCount();
    const port = new URL(viewer.url).port;
    const foreign: Record<string, string>[] = [{ Origin: 'http://127.0.0.1:9999' }, { Origin: 'null' }, { 'Sec-Fetch-Site': 'cross-site' }, { 'Sec-Fetch-Site': 'same-site', Origin: `http://localhost:${port}` }];
    for (const headers of foreign) {
      const res = await raw(viewer.url, 'POST', '/dicom-web/studies', { headers: { ...stowHeaders, ...headers }, body: dicom() });
      expect(res.status, JSON.stringify(headers)).toBe(403);
    }
    expect(await instanceCount()).toBe(before);
    // The viewer's own page: same origin.
    const own = await raw(viewer.url, 'POST', '/dicom-web/studies', { headers: { ...stowHeaders, Origin: viewer.url, 'Sec-Fetch-Site': 'same-origin' }, body: dicom() });
    expect(own.status).toBe(200);
  });

  it('refuses an upload past its size limit (declared or streamed) with 413, stores nothing, keeps serving', async () => {
    const small = await startViewerServer({ ohifDir: OHIF, assetsDir: join(scratch, 'assets'), pacs: target, port: 0, maxUploadBytes: 64 * 1024 });
    try {
      const before = await instanceCount();
      const big = Buffer.concat([dicom(), Buffer.alloc(200 * 1024)]);
      expect((await raw(small.url, 'POST', '/dicom-web/studies', { headers: stowHeaders, body: big })).status).toBe(413);
      // Chunked (no Content-Length): cut off while streaming.
      const chunked = await new Promise<number>((ok, fail) => {
        const req = request(small.url, { method: 'POST', path: '/dicom-web/studies', headers: { ...stowHeaders, 'Transfer-Encoding': 'chunked' } }, (res) => {
          res.resume();
          ok(res.statusCode ?? 0);
        });
        req.on('error', () => ok(-1)); // the server may close the socket on the rest of the body
        for (let i = 0; i < 8; i++) req.write(Buffer.alloc(32 * 1024, i));
        req.end();
        setTimeout(() => fail(new Error('no answer')), 20_000);
      });
      expect([413, -1]).toContain(chunked);
      expect(await instanceCount()).toBe(before);
      expect((await fetch(`${small.url}/dicom-web/studies`)).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('handles Expect: 100-continue: a 2.6 MB STOW-RS upload (the brain MR series) goes through and is stored', async () => {
    const before = await instanceCount();
    const body = buildMultipart(BRAIN.paths.map(readBytes), STOW_BOUNDARY, 'application/dicom');
    expect(body.length).toBeGreaterThan(1024 * 1024);
    const status = await new Promise<number>((ok, fail) => {
      const req = request(viewer.url, { method: 'POST', path: '/dicom-web/studies', headers: { ...stowHeaders, Expect: '100-continue', 'Content-Length': String(body.length) } }, (res) => {
        res.resume();
        ok(res.statusCode ?? 0);
      });
      req.on('continue', () => req.end(body));
      req.on('error', fail);
    });
    expect(status).toBe(200);
    expect(await instanceCount()).toBe(before + BRAIN.paths.length);
  });

  it("a PACS that refuses the server's credentials: the log names the variables to set", async () => {
    const errors: string[] = [];
    const wrong = await startViewerServer({ ohifDir: OHIF, assetsDir: join(scratch, 'assets'), pacs: { dicomWebUrl: target.dicomWebUrl, authorization: `Basic ${Buffer.from('nobody:wrong').toString('base64')}` }, port: 0, onProxyError: (m) => errors.push(m) });
    try {
      const res = await fetch(`${wrong.url}/dicom-web/studies`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBeNull();
      expect(errors.join('\n')).toMatch(/refused the server's credentials \(HTTP 401\): set TOMOSORT_PACS_USER and TOMOSORT_PACS_PASSWORD \(basic\) or TOMOSORT_PACS_TOKEN/);
    } finally {
      await wrong.close();
    }
  });
});
