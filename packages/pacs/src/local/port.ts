import { createServer } from 'node:net';

/**
 * A TCP port that was free a moment ago: the OS picks one for a listener on port 0, which is then
 * closed. Orthanc 1.10 binds every interface, so the probe binds every interface too. Another
 * process may take the port before Orthanc does; startOrthanc retries in that case.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '0.0.0.0', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the probe port'))));
    });
  });
}
