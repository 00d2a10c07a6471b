import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeSeries } from '@tomosort/dicom';
import { PacsClient } from '@tomosort/pacs';
import { startOrthanc } from '@tomosort/pacs/local';
import type { LocalOrthanc } from '@tomosort/pacs/local';
import { readShardStore } from '@tomosort/pretext/node';
import { startRedis } from '@tomosort/queue/local';
import type { LocalRedis } from '@tomosort/queue/local';
import { phantomSubject } from '@tomosort/samples';
import { runTomosort, startTomosort } from './testing';
import type { RunningTomosort } from './testing';

// Prepares the phantom cohort + the sample head CT + one corrupt series, all in a real Orthanc,
// once in this process and then through a real redis-server with worker processes.
let orthanc: LocalOrthanc;
let redis: LocalRedis;
let scratch: string;
let craniumUid: string;
const CORRUPT_UID = '2.25.31415926535897932384626433832795028';
const PARAMS = ['--size', '32', '--mm-per-pixel', '8'];
const workers: RunningTomosort[] = [];

interface PrepareJson {
  series: { source: string; key: string; status: 'written' | 'existing' | 'failed'; reason?: string }[];
  written: number;
  existing: number;
  failed: number;
}

const files = (dir: string) => readdirSync(dir).sort();
const bytesOf = (dir: string) => Object.fromEntries(files(dir).map((f) => [f, readFileSync(join(dir, f))]));
const worker = (...extra: string[]) => {
  const w = startTomosort(['worker', '--queue', redis.url, '--pacs', orthanc.url, '--lock-ms', '4000', ...extra]);
  workers.push(w);
  return w;
};
const stopWorkers = async () => {
  for (const w of workers.splice(0)) {
    w.kill('SIGTERM');
    await w.exited;
  }
};

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'tomosort-prepare-'));
  [orthanc, redis] = await Promise.all([startOrthanc(), startRedis()]);
  const phantoms = await runTomosort(['import', 'sample:phantom', '--subjects', '3', '--pacs', orthanc.url, '--json']);
  expect(phantoms.code).toBe(0);
  const cranium = await runTomosort(['import', 'sample:cranium', '--pacs', orthanc.url, '--json']);
  expect(cranium.code).toBe(0);
  craniumUid = (JSON.parse(cranium.stdout) as { seriesInstanceUID: string }[])[0]!.seriesInstanceUID;
  // A series Orthanc stores but no reader can stack: three 16² slices and one 24² slice.
  const uids = { studyInstanceUID: '2.25.2718281828459045', seriesInstanceUID: CORRUPT_UID, frameOfReferenceUID: '2.25.1414213562373095' };
  const small = writeSeries(phantomSubject(0, 0, { size: 16 }).volume, uids).files.slice(0, 3);
  const odd = writeSeries(phantomSubject(1, 0, { size: 24 }).volume, uids).files.slice(5, 6);
  await new PacsClient({ baseUrl: orthanc.url }).uploadInstances([...small, ...odd]);
}, 180_000);

afterEach(stopWorkers);
afterAll(async () => {
  await Promise.allSettled([orthanc?.stop(), redis?.stop()]);
  rmSync(scratch, { recursive: true, force: true });
});

describe('tomosort prepare', () => {
  let reference: Record<string, Buffer>;
  let referenceReason: string;

  it('in one process: every readable series becomes a shard, the corrupt one fails alone with the reader\'s message', async () => {
    const store = join(scratch, 'single');
    const run = await runTomosort(['prepare', '--source', 'pacs:*', '--out', store, ...PARAMS, '--pacs', orthanc.url, '--json']);
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout) as PrepareJson;
    expect(out).toMatchObject({ written: 4, existing: 0, failed: 1 });
    const failed = out.series.find((s) => s.status === 'failed')!;
    expect(failed.source).toBe(`pacs:${CORRUPT_UID}`);
    expect(failed.reason).toMatch(new RegExp(`^pacs:${CORRUPT_UID.replace(/\./g, '\\.')}: .*(Rows|Columns|16|24)`));
    referenceReason = failed.reason!;
    reference = bytesOf(store);
    expect(Object.keys(reference)).toHaveLength(4);
    const read = readShardStore(store);
    expect(read.volumes.map((v) => v.id)).toContain(`pacs:${craniumUid}`);
    expect(read.params).toMatchObject({ plane: 'axial', size: 32, mmPerPixel: 8 });
  });

  it('on the queue with 3 workers: the same shards, byte for byte, once each; a re-run has nothing left to do but the corrupt series', async () => {
    const store = join(scratch, 'queued');
    const ws = [worker(), worker(), worker()];
    await Promise.all(ws.map((w) => w.waitFor(/waiting for jobs/)));
    const run = await runTomosort(['prepare', '--source', 'pacs:*', '--out', store, ...PARAMS, '--queue', redis.url, '--pacs', orthanc.url, '--json']);
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout) as PrepareJson;
    expect(out).toMatchObject({ written: 4, existing: 0, failed: 1 });
    expect(out.series.find((s) => s.status === 'failed')!.reason).toBe(referenceReason);
    expect(bytesOf(store)).toEqual(reference);
    // Each series was started exactly once across the workers (the corrupt one too: no retries).
    const starts = ws.flatMap((w) => [...w.output().matchAll(/started (\S+) \(attempt/g)].map((m) => m[1]));
    expect(starts.sort()).toEqual(out.series.map((s) => s.source).sort());
    expect(ws.filter((w) => /done /.test(w.output())).length).toBeGreaterThan(1);

    const again = await runTomosort(['prepare', '--source', 'pacs:*', '--out', store, ...PARAMS, '--queue', redis.url, '--pacs', orthanc.url, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ written: 0, existing: 4, failed: 1 });
  });

  it('a worker SIGKILLed mid-job: its series is completed by another worker, nothing half-written', async () => {
    const store = join(scratch, 'killed');
    const doomed = worker();
    await doomed.waitFor(/waiting for jobs/);
    const submission = runTomosort(['prepare', '--source', `pacs:${craniumUid}`, '--out', store, ...PARAMS, '--queue', redis.url, '--pacs', orthanc.url, '--json']);
    await doomed.waitFor(/started pacs:/);
    doomed.kill('SIGKILL');
    expect(await doomed.exited).toBe('SIGKILL');
    // It died before writing its shard.
    expect(readdirSync(store, { withFileTypes: true }).filter((f) => f.name.endsWith('.tshard'))).toHaveLength(0);
    const rescuer = worker();
    const run = await submission;
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ written: 1, failed: 0 });
    expect(rescuer.output()).toMatch(new RegExp(`done pacs:${craniumUid.replace(/\./g, '\\.')}: shard \\w+ written`));
    const [name] = files(store);
    expect(files(store)).toEqual([name]); // no temporaries
    expect(readFileSync(join(store, name!)).equals(reference[name!]!)).toBe(true);
  });

  it('Redis down: one line naming the URL, for the submitter and the worker; once it is back, the submission goes through', async () => {
    const port = redis.port;
    await redis.stop();
    const store = join(scratch, 'outage');
    const args = ['prepare', '--source', 'sample:phantom:2', '--out', store, ...PARAMS, '--queue', redis.url];
    const down = await runTomosort(args);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`tomosort: ${redis.url}: cannot reach Redis (ECONNREFUSED)\n`);
    const noWorker = await runTomosort(['worker', '--queue', redis.url]);
    expect(noWorker.code).toBe(1);
    expect(noWorker.stderr).toBe(`tomosort: ${redis.url}: cannot reach Redis (ECONNREFUSED)\n`);

    redis = await startRedis({ port });
    worker();
    const up = await runTomosort([...args, '--json']);
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout)).toMatchObject({ written: 2, failed: 0 });
  });
});
