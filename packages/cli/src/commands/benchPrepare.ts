import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PacsClient } from '@tomosort/pacs';
import { startOrthanc } from '@tomosort/pacs/local';
import type { ShardParams } from '@tomosort/pretext/node';
import { startRedis } from '@tomosort/queue/local';
import { DEFAULT_INTENSITY } from '@tomosort/volume';
import { userPath } from '../env';
import { CliError, UsageError } from '../errors';
import { writeFileAtomic } from '../files';
import { prepareImport } from '../importSources';
import { JSON_OPTION, intListOption, intOption, parse } from '../parse';
import { formatTable } from '../table';
import { startTomosort } from '../testing';
import type { RunningTomosort } from '../testing';
import { refSource, sourceRefs } from '../trainSources';
import { prepareInProcess, prepareOnQueue } from './prepare';

export const BENCH_PREPARE_USAGE = `usage: pnpm tomosort bench prepare [--workers LIST] [--subjects N] [--size S] [--out FILE] [--json]

  prepare  archive preparation throughput on this machine: a throw-away Orthanc holding N phantom
           subjects and the sample head CT, a throw-away redis-server, and for each worker count a
           fresh shard store prepared by that many \`tomosort worker\` processes through the queue.
           Also one in-process run (no queue, one series at a time): the per-series cost.
           Reports seconds, series per second, the speed-up over the first worker count and the
           scaling efficiency (speed-up ÷ workers ratio).
  --workers LIST  worker process counts, comma-separated (default 1,2,4)
  --subjects N    phantom subjects in the archive (default 12)
  --size S        shard size in pixels (default 128)
  --out FILE      also write the JSON there (atomically)
  --json          print the JSON instead of the table`;

export async function benchPrepare(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { workers: { type: 'string' }, subjects: { type: 'string' }, size: { type: 'string' }, out: { type: 'string' }, ...JSON_OPTION }, BENCH_PREPARE_USAGE, false);
  const counts = intListOption('workers', values.workers ?? '1,2,4');
  if (counts.some((c) => c < 1)) throw new UsageError(`--workers: each count is at least 1, got "${values.workers}"`);
  const subjects = intOption('subjects', values.subjects, 12, 1);
  const size = intOption('size', values.size, 128, 8);
  const log = (m: string) => values.json || process.stderr.write(`${m}\n`);
  const params: ShardParams = { plane: 'axial', size, mmPerPixel: 3.25, window: { center: 40, width: 400 }, intensity: DEFAULT_INTENSITY };
  const scratch = mkdtempSync(join(tmpdir(), 'tomosort-bench-prepare-'));
  const [orthanc, redis] = await Promise.all([startOrthanc(), startRedis()]);
  const workers: RunningTomosort[] = [];
  try {
    const pacs = new PacsClient({ baseUrl: orthanc.url });
    log(`archive: ${subjects} phantom subjects + sample:cranium into a local Orthanc …`);
    for (const s of [...(await prepareImport('sample:phantom', { subjects })), ...(await prepareImport('sample:cranium'))]) await pacs.uploadInstances(s.files, { concurrency: 4 });
    const refs = (await sourceRefs('pacs:*', { seed: 0, pacs: () => pacs }))!;
    const studies = (await pacs.searchStudies()).length;

    log(`in process, one series at a time: ${refs.length} series …`);
    const t0 = performance.now();
    const single = await prepareInProcess(
      refs.map((r) => refSource(r, () => pacs)),
      params,
      join(scratch, 'in-process'),
      1,
      true,
    );
    const inProcessSeconds = (performance.now() - t0) / 1000;
    if (single.some((r) => r.status === 'failed')) throw new CliError(`bench prepare: a series failed: ${single.find((r) => r.status === 'failed')!.reason}`);

    const runs = [];
    for (const n of counts) {
      log(`${n} worker(s) …`);
      const started = Array.from({ length: n }, () => startTomosort(['worker', '--queue', redis.url, '--pacs', orthanc.url]));
      workers.push(...started);
      await Promise.all(started.map((w) => w.waitFor(/waiting for jobs/)));
      const t = performance.now();
      const rows = await prepareOnQueue(redis.url, refs, params, join(scratch, `workers-${n}`), true);
      const seconds = (performance.now() - t) / 1000;
      if (rows.some((r) => r.status !== 'written')) throw new CliError(`bench prepare: with ${n} workers not every shard was written: ${JSON.stringify(rows.filter((r) => r.status !== 'written'))}`);
      for (const w of started) w.kill('SIGTERM');
      await Promise.all(started.map((w) => w.exited));
      workers.splice(0);
      runs.push({ workers: n, seconds: +seconds.toFixed(2), seriesPerSecond: +(refs.length / seconds).toFixed(3) });
    }
    const base = runs[0]!;
    const result = {
      archive: { series: refs.length, studies, subjects, cranium: true },
      params,
      cores: (await import('node:os')).availableParallelism(),
      inProcess: { seconds: +inProcessSeconds.toFixed(2), secondsPerSeries: +(inProcessSeconds / refs.length).toFixed(3) },
      runs: runs.map((r) => ({ ...r, speedup: +(base.seconds / r.seconds).toFixed(2), efficiency: +((base.seconds / r.seconds) * (base.workers / r.workers)).toFixed(2) })),
    };
    if (values.out) writeFileAtomic(userPath(values.out), `${JSON.stringify(result, null, 2)}\n`);
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else
      process.stdout.write(
        `${formatTable(
          ['workers', 'seconds', 'series/s', 'speed-up', 'efficiency'],
          result.runs.map((r) => [String(r.workers), r.seconds.toFixed(2), r.seriesPerSecond.toFixed(3), `${r.speedup}×`, r.efficiency.toFixed(2)]),
        )}\n${refs.length} series (${subjects} phantoms + the head CT) to ${size}² shards on ${result.cores} cores; in process, one at a time: ${result.inProcess.secondsPerSeries} s per series\n`,
      );
    return 0;
  } finally {
    for (const w of workers) w.kill('SIGKILL');
    await Promise.allSettled([orthanc.stop(), redis.stop()]);
    rmSync(scratch, { recursive: true, force: true });
  }
}
