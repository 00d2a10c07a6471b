import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ASSETS_PATH, DICOMWEB_PATH, MODELS_PATH } from '@tomosort/ohif-extension/ids';
import { appConfigScript } from './appConfig';
import type { CpuSettings } from '@tomosort/ohif-extension/worker/protocol';
import { dicomWebRoute } from './dicomwebRoutes';
import { ViewerError } from './errors';

/** Where the DICOMweb proxy forwards to, and the credentials it adds (never sent to the browser). */
export interface ProxyTarget {
  /** Orthanc's DICOMweb root, e.g. http://127.0.0.1:8042/dicom-web (no userinfo). */
  readonly dicomWebUrl: string;
  /** The Authorization header value for Orthanc, if it needs one. */
  readonly authorization?: string;
}

export interface ViewerServerOptions {
  /** The published OHIF viewer's built files (index.html, app-config.js, bundles). */
  readonly ohifDir: string;
  readonly pacs: ProxyTarget;
  /** Files served under /tomosort/ (the extension and mode bundles). */
  readonly assetsDir: string;
  /** Model folders (each with model.json + weights.bin) served as the model store; optional. */
  readonly modelsDir?: string;
  /** Default 127.0.0.1: the viewer reads patient data and must not face the network by accident. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Called for every proxied request that failed (for the server's log); the process stays up. */
  readonly onProxyError?: (message: string) => void;
  /**
   * Host names (the request's Host header, without the port) accepted besides 127.0.0.1,
   * localhost, [::1] and `host`: e.g. the name nginx forwards under. Any other Host gets 421, so a
   * DNS-rebinding page cannot read the studies.
   */
  readonly allowedHosts?: readonly string[];
  /** Largest STOW-RS body forwarded, in bytes; larger ones get 413. Default 512 MiB. */
  readonly maxUploadBytes?: number;
  /** How the viewer's training worker uses the CPU (default: hardware concurrency − 1 threads, tfjs-wasm's pool). */
  readonly cpu?: CpuSettings;
}

/** Default of {@link ViewerServerOptions.maxUploadBytes}. */
export const DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

export interface ViewerServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}


const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.bin': 'application/octet-stream',
  '.map': 'application/json',
};

/**
 * Cross-origin isolation (SharedArrayBuffer for threaded wasm, precise timers) on every response.
 * Everything is same-origin, so require-corp costs nothing.
 */
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus those the proxy sets itself. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'authorization', 'cookie', 'content-length', 'expect', 'origin', 'referer']);

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { ...ISOLATION, 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

/** A file under `root` for a URL path, or undefined (no escaping the root with ../). */
function fileUnder(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const path = normalize(join(root, decoded));
  if (path !== root && !path.startsWith(root.endsWith(sep) ? root : root + sep)) return undefined;
  return existsSync(path) && statSync(path).isFile() ? path : undefined;
}

function serveFile(res: ServerResponse, path: string, cache: boolean): void {
  res.writeHead(200, {
    ...ISOLATION,
    'Content-Type': TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': String(statSync(path).size),
    'Cache-Control': cache ? 'public, max-age=3600' : 'no-cache',
  });
  createReadStream(path).pipe(res);
}

/** The model store's index: one entry per folder holding a tomosort model.json. */
export function modelIndex(modelsDir: string): { name: string; manifest: unknown }[] {
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(modelsDir, d.name, 'model.json')))
    .map((d) => {
      const json = JSON.parse(readFileSync(join(modelsDir, d.name, 'model.json'), 'utf8')) as { modelTopology?: unknown };
      return { name: d.name, manifest: json.modelTopology ?? null };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The Host header's name, lower case, without the port (IPv6 keeps its brackets). */
export function hostName(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1) || undefined;
  return h.split(':')[0] || undefined;
}

/** A write from a page of another origin (a form or no-cors fetch), which the proxy refuses. */
function crossOriginWrite(req: IncomingMessage): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site: ${site}`;
  const origin = req.headers.origin;
  if (typeof origin === 'string') {
    let from: string;
    try {
      from = new URL(origin).host;
    } catch {
      return `Origin: ${origin}`;
    }
    if (from !== (req.headers.host ?? '').toLowerCase()) return `Origin: ${origin}`;
  }
  return undefined;
}

/** The request body, streamed with back-pressure and cut off with an error past `limit` bytes. */
function limitedBody(req: IncomingMessage, limit: number): { body: Readable; tooLarge: () => boolean } {
  let seen = 0;
  let over = false;
  const body = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit) {
        over = true;
        done(new Error(`the upload exceeds ${limit} bytes`));
        req.destroy();
        return;
      }
      done(null, chunk);
    },
  });
  req.on('error', (e) => body.destroy(e));
  req.pipe(body);
  return { body, tooLarge: () => over };
}

interface ProxyLimits {
  readonly maxUploadBytes: number;
}

/** Answers 413 when the request declares a body over the limit (before any of it is read). */
function refusedAsTooLarge(req: IncomingMessage, res: ServerResponse, limits: ProxyLimits): boolean {
  const declared = Number(req.headers['content-length']);
  if (!(Number.isFinite(declared) && declared > limits.maxUploadBytes)) return false;
  send(res, 413, `the upload (${declared} bytes) exceeds this viewer's limit of ${limits.maxUploadBytes} bytes`);
  return true;
}

async function proxy(req: IncomingMessage, res: ServerResponse, target: ProxyTarget, limits: ProxyLimits, onError: (m: string) => void): Promise<void> {
  const raw = (req.url ?? '').slice(DICOMWEB_PATH.length);
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  const search = q < 0 ? '' : raw.slice(q);
  const method = req.method ?? 'GET';
  const route = dicomWebRoute(method, rawPath);
  if (!route.ok) {
    onError(`${method} ${DICOMWEB_PATH}${rawPath}: refused (${route.status}: ${route.reason})`);
    res.writeHead(route.status, { ...ISOLATION, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...(route.allow ? { Allow: route.allow } : {}) });
    res.end(`${method} ${DICOMWEB_PATH}${rawPath}: ${route.reason}`);
    return;
  }
  if (method === 'POST') {
    const why = crossOriginWrite(req);
    if (why) {
      onError(`${method} ${DICOMWEB_PATH}${rawPath}: refused a write from another origin (${why})`);
      send(res, 403, `writes to the PACS are accepted from this viewer's own pages only (${why})`);
      return;
    }
    if (refusedAsTooLarge(req, res, limits)) return;
  }
  const url = target.dicomWebUrl.replace(/\/+$/, '') + route.path + search;
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP.has(k) || k.startsWith('sec-')) continue;
    headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  if (target.authorization) headers.set('authorization', target.authorization);
  const upload = method === 'POST' ? limitedBody(req, limits.maxUploadBytes) : undefined;
  let upstream: Response;
  try {
    upstream = await fetch(url, {
      method,
      headers,
      ...(upload ? { body: Readable.toWeb(upload.body) as unknown as ReadableStream, duplex: 'half' } : {}),
    } as RequestInit);
  } catch (e) {
    if (upload?.tooLarge()) {
      onError(`${method} ${DICOMWEB_PATH}${rawPath}: refused an upload over ${limits.maxUploadBytes} bytes`);
      if (!res.headersSent) send(res, 413, `the upload exceeds this viewer's limit of ${limits.maxUploadBytes} bytes`);
      return;
    }
    const why = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
    onError(`${method} ${DICOMWEB_PATH}${rawPath}: the PACS did not answer (${why})`);
    send(res, 502, `The PACS did not answer: ${why}`);
    return;
  }
  const out: Record<string, string> = { ...ISOLATION };
  upstream.headers.forEach((v, k) => {
    if (!HOP.has(k) && k !== 'www-authenticate' && k !== 'set-cookie' && k !== 'content-encoding') out[k] = v;
  });
  if (upstream.status === 401 || upstream.status === 403) {
    onError(
      `${method} ${DICOMWEB_PATH}${rawPath}: the PACS refused the server's credentials (HTTP ${upstream.status}): ` +
        'set TOMOSORT_PACS_USER and TOMOSORT_PACS_PASSWORD (basic) or TOMOSORT_PACS_TOKEN (bearer) where `tomosort viewer` runs',
    );
  }
  res.writeHead(upstream.status, out);
  if (!upstream.body || method === 'HEAD') {
    res.end();
    return;
  }
  Readable.fromWeb(upstream.body as WebReadableStream).on('error', () => res.destroy()).pipe(res);
}

/**
 * Serves, on one origin: the OHIF viewer (SPA: unknown paths get index.html), our
 * /app-config.js, the extension bundles under /tomosort/, the model store under
 * /tomosort-models/ (index.json + each model's files), and /dicom-web/* proxied to the PACS
 * with the server's credentials. Every response carries COOP/COEP/CORP for cross-origin isolation.
 */
export async function startViewerServer(opts: ViewerServerOptions): Promise<ViewerServer> {
  const ohifDir = resolve(opts.ohifDir);
  const assetsDir = resolve(opts.assetsDir);
  const modelsDir = opts.modelsDir && resolve(opts.modelsDir);
  if (!existsSync(join(ohifDir, 'index.html'))) {
    throw new ViewerError(`no OHIF viewer at ${ohifDir} (index.html missing): run ./scripts/fetch-ohif.sh`);
  }
  const onError = opts.onProxyError ?? (() => {});
  const limits: ProxyLimits = { maxUploadBytes: opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES };
  const hosts = new Set(['127.0.0.1', 'localhost', '[::1]', ...[opts.host, ...(opts.allowedHosts ?? [])].filter((h): h is string => !!h).map((h) => hostName(h)!)]);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const name = hostName(req.headers.host);
    if (!name || !hosts.has(name)) {
      onError(`${req.method} ${path}: refused Host ${JSON.stringify(req.headers.host ?? '')} (not one this viewer serves)`);
      return send(res, 421, `this viewer answers to ${[...hosts].join(', ')}, not ${JSON.stringify(req.headers.host ?? '')}`);
    }
    const handle = async (): Promise<void> => {
      if (path === DICOMWEB_PATH || path.startsWith(`${DICOMWEB_PATH}/`)) return proxy(req, res, opts.pacs, limits, onError);
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, `${req.method} not allowed`);
      if (path === '/app-config.js') return send(res, 200, appConfigScript(opts.cpu), 'text/javascript; charset=utf-8');
      if (path.startsWith(`${ASSETS_PATH}/`)) {
        const file = fileUnder(assetsDir, path.slice(ASSETS_PATH.length));
        return file ? serveFile(res, file, false) : send(res, 404, `${path}: no such file`);
      }
      if (path === MODELS_PATH || path.startsWith(`${MODELS_PATH}/`)) {
        if (!modelsDir) return send(res, 404, 'no model store configured');
        if (path === `${MODELS_PATH}/index.json`) return send(res, 200, JSON.stringify(modelIndex(modelsDir)), 'application/json');
        const file = fileUnder(modelsDir, path.slice(MODELS_PATH.length));
        return file ? serveFile(res, file, false) : send(res, 404, `${path}: no such model file`);
      }
      const file = fileUnder(ohifDir, path);
      if (file) return serveFile(res, file, !file.endsWith('index.html'));
      // An app route (/, /viewer, /tomosort-sparse, …) or a missing asset.
      if (extname(path) === '') return serveFile(res, join(ohifDir, 'index.html'), false);
      return send(res, 404, `${path}: no such file`);
    };
    handle().catch((e: unknown) => {
      onError(`${req.method} ${path}: ${e instanceof Error ? e.message : String(e)}`);
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.destroy();
    });
  });
  // Expect: 100-continue: refuse an oversized upload before its body is sent, else continue.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (refusedAsTooLarge(req, res, limits)) return;
    res.writeContinue();
    server.emit('request', req, res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(e.code === 'EADDRINUSE' ? new ViewerError(`port ${opts.port} is in use: pass another with --port`) : e),
    );
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
