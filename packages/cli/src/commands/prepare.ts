import { mkdirSync } from 'node:fs';
import { fitScaleToFirst } from '@tomosort/pretext';
import type { PacsClient } from '@tomosort/pacs';
import type { VolumeSource } from '@tomosort/pretext';
import { describeParams, hasShard, shardKey } from '@tomosort/pretext/node';
import type { ShardParams } from '@tomosort/pretext/node';
import { submitJobs } from '@tomosort/queue';
import type { JobSpec } from '@tomosort/queue';
import { DEFAULT_INTENSITY } from '@tomosort/volume';
import type { Command } from '../cli';
import { userPath } from '../env';
import { CliError, UsageError } from '../errors';
import { isKnownError } from '../knownErrors';
import { JSON_OPTION, PACS_OPTION, intOption, numOption, oneOfOption, pairOption, parse } from '../parse';
import { connectPacs } from '../pacsConnection';
import { PREPARE_JOB } from '../jobKinds';
import { failureFor, isInputError, prepareJobId, prepareShard, refId } from '../prepareJob';
import type { PrepareJobData } from '../prepareJob';
import { inParallel } from '../parallel';
import { progressBar } from '../progress';
import { parseTrainSources, refSource, sourceRefs } from '../trainSources';
import type { SourceRef } from '../trainSources';

const USAGE = `usage: pnpm tomosort prepare --source S --out STORE [options]

Prepares volumes for pre-training once, into a shard store that \`pretrain --source prepared:STORE\`
trains from without touching the PACS: each series reoriented to --plane, resampled in-plane to
--size² at --mm-per-pixel, intensities in the window (CT in HU, other modalities by robust
percentiles). One shard per series, named by its source (SeriesInstanceUID) and these
parameters, written atomically; shards already in the store are skipped, so a re-run does only
what is missing (or failed).

  --source S        pacs:UID[,UID…] | pacs:* (every CT and MR series) | sample:phantom[:N] |
                    sample:cranium | sample:colin27[:better] | a folder or file (without --queue only)
  --out STORE       the shard store (a folder; with --queue, one every worker sees: shared storage)
  --plane P         axial (default) | coronal | sagittal
  --size S          pixels per side (default 128)
  --mm-per-pixel X  in-plane scale (default: fits the first volume's larger extent into --size)
  --window C,W      the model's window (default 40,400)
  --seed S          the phantom cohort's seed (default 0)
  --queue URL       redis://HOST[:PORT][/DB]: one job per series on the queue, done by any number
                    of \`tomosort worker\`s (credentials: $TOMOSORT_REDIS_USER / $TOMOSORT_REDIS_PASSWORD)
  --jobs N          without --queue: series prepared at once in this process (default 2)
  --pacs URL        the PACS (default $TOMOSORT_PACS_URL or the local one; with --queue, each worker
                    uses its own --pacs)
  --json            print {"store","params","series":[{"source","key","status","reason"?}],"written","existing","failed","seconds"}

A series that cannot be read fails on its own, with the reader's message, while the rest are
prepared; the exit code is then 1.`;

type Status = 'written' | 'existing' | 'failed';
export interface PrepareRow {
  readonly source: string;
  readonly key: string;
  readonly status: Status;
  readonly reason?: string;
}

export const prepareCommand: Command = {
  usage: USAGE,
  async run(args) {
    const { values } = parse(
      args,
      {
        source: { type: 'string' },
        out: { type: 'string' },
        plane: { type: 'string' },
        size: { type: 'string' },
        'mm-per-pixel': { type: 'string' },
        window: { type: 'string' },
        seed: { type: 'string' },
        queue: { type: 'string' },
        jobs: { type: 'string' },
        ...PACS_OPTION,
        ...JSON_OPTION,
      },
      USAGE,
      false,
    );
    if (!values.source) throw new UsageError(`--source is required\n\n${USAGE}`);
    if (!values.out) throw new UsageError(`--out STORE is required\n\n${USAGE}`);
    const store = userPath(values.out);
    const plane = oneOfOption('plane', values.plane, ['axial', 'coronal', 'sagittal'] as const, 'axial');
    const size = intOption('size', values.size, 128, 8);
    const seed = intOption('seed', values.seed, 0);
    const jobs = intOption('jobs', values.jobs, 2, 1);
    const [center, width] = pairOption('window', values.window, [40, 400]);
    const quiet = values.json || !process.stderr.isTTY;
    const started = performance.now();

    let client: PacsClient | undefined;
    const pacs = () => (client ??= connectPacs(values.pacs));
    const refs = await sourceRefs(values.source, { seed, pacs });
    if (values.queue && !refs) {
      throw new UsageError(`--queue takes PACS series and samples, which every worker can load; "${values.source}" is a folder on this machine: import it first (\`tomosort import\`) or prepare it without --queue`);
    }
    let sources: VolumeSource[] = refs ? refs.map((r) => refSource(r, pacs)) : await parseTrainSources(values.source, { seed, pacs, warn: (m) => process.stderr.write(`warning: ${m}\n`) });
    if (sources.length === 0) throw new UsageError(`${values.source}: no volumes to prepare`);
    let mmPerPixel: number;
    if (values['mm-per-pixel'] === undefined) {
      // Fitted to the first volume, which is then prepared from that load (not fetched twice).
      ({ mmPerPixel, sources } = await fitScaleToFirst(sources, plane, size));
    } else mmPerPixel = numOption('mm-per-pixel', values['mm-per-pixel'], 1);
    const params: ShardParams = { plane, size, mmPerPixel, window: { center, width }, intensity: DEFAULT_INTENSITY };
    // Made here, so a store this machine cannot write fails now rather than in every job.
    mkdirSync(store, { recursive: true });
    if (!quiet) process.stderr.write(`prepare: ${sources.length} volumes → ${store} (${describeParams(params)})\n`);

    const rows = values.queue ? await prepareOnQueue(values.queue, refs!, params, store, quiet) : await prepareInProcess(sources, params, store, jobs, quiet);
    const count = (s: Status) => rows.filter((r) => r.status === s).length;
    const seconds = (performance.now() - started) / 1000;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ store, params, series: rows, written: count('written'), existing: count('existing'), failed: count('failed'), seconds })}\n`);
    } else {
      for (const r of rows) if (r.status === 'failed') process.stdout.write(`failed: ${r.reason}\n`);
      process.stdout.write(`${store}: ${count('written')} shards written, ${count('existing')} already there, ${count('failed')} failed, in ${seconds.toFixed(1)} s\n`);
    }
    return count('failed') > 0 ? 1 : 0;
  },
};

/** One process, `jobs` series at a time (loads overlap; preparing is single-threaded). */
export async function prepareInProcess(sources: readonly VolumeSource[], params: ShardParams, store: string, jobs: number, quiet: boolean): Promise<PrepareRow[]> {
  const bar = progressBar('prepare', !quiet);
  let done = 0;
  let failed = 0;
  const rows = await inParallel(sources, jobs, async (s): Promise<PrepareRow> => {
    let row: PrepareRow;
    try {
      const r = await prepareShard(s, params, store);
      row = { source: s.id, key: r.key, status: r.written ? 'written' : 'existing' };
    } catch (e) {
      if (!isInputError(e) && !isKnownError(e)) throw e;
      row = { source: s.id, key: shardKey(s.id, params), status: 'failed', reason: failureFor(s.id, e) };
      failed += 1;
    }
    bar.update(++done, sources.length, failed ? `${failed} failed` : '');
    return row;
  });
  bar.done(`${sources.length} volumes`);
  return rows;
}

/** One job per missing shard on the queue; this process only tracks them. */
export async function prepareOnQueue(url: string, refs: readonly SourceRef[], params: ShardParams, store: string, quiet: boolean): Promise<PrepareRow[]> {
  const rows = new Map<string, PrepareRow>();
  const specs: JobSpec[] = [];
  const bySource = new Map<string, string>();
  for (const ref of refs) {
    const source = refId(ref);
    const key = shardKey(source, params);
    if (hasShard(store, key)) {
      rows.set(source, { source, key, status: 'existing' });
    } else {
      const id = prepareJobId(source, params);
      bySource.set(id, source);
      specs.push({ id, kind: PREPARE_JOB, data: { source: ref, params, store } satisfies PrepareJobData });
    }
  }
  const bar = progressBar('prepare', !quiet);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  try {
    if (specs.length > 0) {
      const outcomes = await submitJobs(url, specs, {
        signal: controller.signal,
        onNotice: (m) => process.stderr.write(`${quiet ? '' : '\n'}prepare: ${m}\n`),
        onProgress: (p) => bar.update(p.completed + p.failed, p.total, `${p.running} running${p.failed ? `, ${p.failed} failed` : ''}`),
      });
      for (const o of outcomes) {
        const source = bySource.get(o.id)!;
        const key = shardKey(source, params);
        // Only missing shards were submitted: a completed job's shard is new, whichever worker wrote it.
        rows.set(source, o.status === 'completed' ? { source, key, status: 'written' } : { source, key, status: 'failed', reason: o.reason });
      }
    }
  } catch (e) {
    if (controller.signal.aborted) throw new CliError(`stopped waiting: the jobs stay on the queue for the workers; run the same command again to follow them`, 130);
    throw e;
  } finally {
    process.off('SIGINT', stop);
  }
  bar.done(`${refs.length} volumes`);
  return refs.map((r) => rows.get(refId(r))!);
}
