import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTomosort } from './testing';

let ohif: string;
let taken: Server;
let port: number;

beforeAll(async () => {
  // A stand-in OHIF dist: the server only checks that index.html is there before it listens.
  ohif = mkdtempSync(join(tmpdir(), 'tomosort-ohif-'));
  writeFileSync(join(ohif, 'index.html'), '<!doctype html><title>OHIF stand-in</title>');
  taken = createServer();
  await new Promise<void>((ok) => taken.listen(0, '127.0.0.1', ok));
  port = (taken.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((ok) => taken.close(() => ok()));
  rmSync(ohif, { recursive: true, force: true });
});

describe('tomosort viewer failures are one line, never a stack trace', () => {
  it(`a port in use (a ViewerError) → "tomosort: port P is in use: pass another with --port", exit 1`, async () => {
    const run = await runTomosort(['viewer', '--port', String(port), '--pacs', 'http://127.0.0.1:1'], { TOMOSORT_OHIF_DIST: ohif });
    expect(run.stderr).toBe(`tomosort: port ${port} is in use: pass another with --port\n`);
    expect(run.code).toBe(1);
  }, 120_000);

  it('no OHIF dist at $TOMOSORT_OHIF_DIST → one line naming the folder and how to get one', async () => {
    const empty = join(ohif, 'absent');
    const run = await runTomosort(['viewer', '--pacs', 'http://127.0.0.1:1'], { TOMOSORT_OHIF_DIST: empty });
    expect(run.stderr).toBe(`tomosort: the OHIF viewer is not installed at ${empty}: run ./scripts/fetch-ohif.sh (part of ./scripts/setup.sh), or set TOMOSORT_OHIF_DIST to an OHIF 3.13 dist\n`);
    expect(run.code).toBe(1);
  });

  it('a bad --cpu-threads or --cpu-parallel is a usage error before anything starts (exit 2)', async () => {
    const parallel = await runTomosort(['viewer', '--cpu-parallel', 'gpu', '--pacs', 'http://127.0.0.1:1'], { TOMOSORT_OHIF_DIST: ohif });
    expect(parallel.stderr).toBe('tomosort: --cpu-parallel must be one of threads, replicas, got "gpu"\n');
    expect(parallel.code).toBe(2);
    const threads = await runTomosort(['viewer', '--cpu-threads', '0', '--pacs', 'http://127.0.0.1:1'], { TOMOSORT_OHIF_DIST: ohif });
    expect(threads.stderr).toBe('tomosort: --cpu-threads must be an integer ≥ 1, got "0"\n');
    expect(threads.code).toBe(2);
  });
});
