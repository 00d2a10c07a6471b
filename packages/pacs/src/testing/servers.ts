// Test-only Node HTTP servers that inject faults in front of (or instead of) a real Orthanc.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the proxy does with the n-th request (1-based): forward it, drop the connection, answer a
 * status, or forward the answer's headers and only its first `truncateAfter` body bytes, then
 * close (a connection broken mid-answer, as when the server dies while sending).
 */
export type Fault = 'pass' | 'drop' | { readonly status: number } | { readonly truncateAfter: number };

/** A running test server. `requests` counts every request it received. */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly requests: number;
  close(): Promise<void>;
}

async function listen(server: Server, counter: { n: number }): Promise<TestServer> {
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return counter.n;
    },
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}

/**
 * A proxy to `target` that applies `fault(n)` to the n-th request: 'drop' destroys the socket
 * without an answer (a connection reset), `{ status }` answers that status, 'pass' forwards.
 */
export function startFaultProxy(target: string, fault: (n: number, req: IncomingMessage) => Fault): Promise<TestServer> {
  const counter = { n: 0 };
  const upstream = new URL(target);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const f = fault(++counter.n, req);
    if (f === 'drop') {
      req.socket.destroy();
      return;
    }
    if (f !== 'pass' && 'status' in f) {
      req.resume();
      res.writeHead(f.status, { 'Content-Type': 'text/plain' }).end(`injected ${f.status}`);
      return;
    }
    const cut = f === 'pass' ? undefined : f.truncateAfter;
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        if (cut === undefined) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        // No length and no chunking: the body ends where the connection closes.
        const headers = { ...up.headers, connection: 'close' };
        delete headers['content-length'];
        delete headers['transfer-encoding'];
        res.useChunkedEncodingByDefault = false;
        res.writeHead(up.statusCode ?? 502, headers);
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          if (sent >= cut) return;
          res.write(chunk.subarray(0, cut - sent));
          sent += Math.min(chunk.length, cut - sent);
          if (sent >= cut) res.end();
        });
        up.on('end', () => res.end());
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  return listen(server, counter);
}

/** A server that accepts requests and never answers them. */
export function startSilentServer(): Promise<TestServer> {
  const counter = { n: 0 };
  const server = createServer(() => {
    counter.n++;
  });
  return listen(server, counter);
}

/** A port on which nothing listens: bound by the OS, then closed. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((res) => server.close(() => res()));
  return port;
}
