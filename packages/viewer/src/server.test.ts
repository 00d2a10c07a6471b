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
import { CT_SMALL, MR_SMALL, readBytes } from '@tomosort/pacs/testing';
import { buildExtensionBundles } from './bundle';
import { startViewerServer } from './server';
import type { ViewerServer } from './server';

const OHIF = resolve(__dirname, '..', '..', '..', '.cache', 'ohif', '3.13.2', 'dist');
const USER = 'radiology';
const PASSWORD = 'Pw-viewer-93c1-secret';

let orthanc: LocalOrthanc;
let viewer: ViewerServer;
let scratch: string;
const proxyErrors: string[] = [];

beforeAll(async () => {
  await initNodeBackend('cpu');
  scratch = mkdtempSync(join(tmpdir(), 'tomosort-viewer-'));
  orthanc = await startOrthanc({ config: { AuthenticationEnabled: true, RegisteredUsers: { [USER]: PASSWORD } } });
  const pacs = new PacsClient({ baseUrl: orthanc.url, auth: { kind: 'basic', username: USER, password: PASSWORD } });
  await pacs.uploadInstance(readBytes(CT_SMALL.path));
  const model = createModel(scoreModelSpec(encoderSpec('small')), { seed: 0 });
  await saveModelToDir(expectKind(model, 'score'), { method: 'sorting', inputSize: 32, huWindow: { center: 40, width: 400 }, sliceSpacingMm: 3, steps: 7, metrics: {} }, join(scratch, 'models', 'sorting-small'));
  model.dispose();
  await buildExtensionBundles(join(scratch, 'assets'));
  viewer = await startViewerServer({
    ohifDir: OHIF,
    assetsDir: join(scratch, 'assets'),
    modelsDir: join(scratch, 'models'),
    pacs: pacs.proxyTarget(),
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
