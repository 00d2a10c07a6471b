import { DEFAULT_LOCK_MS, displayUrl, startWorker } from '@tomosort/queue';
import type { WorkerEvent } from '@tomosort/queue';
import type { PacsClient } from '@tomosort/pacs';
import type { Command } from '../cli';
import { UsageError } from '../errors';
import { PACS_OPTION, intOption, parse } from '../parse';
import { connectPacs } from '../pacsConnection';
import { EXPERIMENT_JOB, PREPARE_JOB } from '../jobKinds';
import { refId, runPrepareJob } from '../prepareJob';
import type { PrepareJobData, PrepareResult } from '../prepareJob';
import type { ExperimentJobData } from '../experiment/grid';

const USAGE = `usage: pnpm tomosort worker --queue URL [options]

A long-running worker: takes jobs from the queue (Redis + BullMQ) that \`tomosort prepare --queue\`
and \`tomosort experiment --queue\` submit, on this machine or any other. Run as many as the machines hold; each job runs once,
and the job of a worker that dies goes to another once its lock expires.

  --queue URL        redis://HOST[:PORT][/DB] (credentials: $TOMOSORT_REDIS_USER / $TOMOSORT_REDIS_PASSWORD)
  --concurrency N    jobs at once in this process (default 1)
  --pacs URL         the PACS the jobs' series are read from (default $TOMOSORT_PACS_URL or the local one)
  --lock-ms MS       a job's lock; a dead worker's job is taken over after about this long (default 120000)

SIGTERM (or Ctrl+C): finish the running jobs, take no more, exit. A second one: put the running
jobs back on the queue and exit at once. One line per job on stderr.`;

export const workerCommand: Command = {
  usage: USAGE,
  async run(args) {
    const { values } = parse(args, { queue: { type: 'string' }, concurrency: { type: 'string' }, 'lock-ms': { type: 'string' }, ...PACS_OPTION }, USAGE, false);
    if (!values.queue) throw new UsageError(`--queue URL is required\n\n${USAGE}`);
    const concurrency = intOption('concurrency', values.concurrency, 1, 1);
    const lockMs = intOption('lock-ms', values['lock-ms'], DEFAULT_LOCK_MS, 1_000);
    let pacs: PacsClient | undefined;
    const pacsClient = () => (pacs ??= connectPacs(values.pacs));
    const shown = displayUrl(values.queue);
    const say = (line: string) => process.stderr.write(`worker ${line}\n`);
    const labels = new Map<string, string>();
    const onEvent = (e: WorkerEvent) => {
      if (e.type === 'start' && e.kind === PREPARE_JOB) labels.set(e.id, refId((e.data as PrepareJobData).source));
      const label = labels.get(e.id) ?? e.id;
      if (e.type === 'start') say(`${name}: started ${label} (attempt ${e.attempt})`);
      else if (e.type === 'done' && e.kind === EXPERIMENT_JOB) say(`${name}: done ${label}: ${(e.result as { units: number }).units} units in ${e.seconds.toFixed(1)} s`);
      else if (e.type === 'done') {
        const r = e.result as PrepareResult;
        say(`${name}: done ${r.sourceId}: ${r.written ? `shard ${r.key} written` : `shard ${r.key} was already there`} in ${e.seconds.toFixed(1)} s`);
      } else if (e.type === 'failed') say(`${name}: failed ${label}${e.permanent ? '' : ' (will be retried)'}: ${e.reason}`);
      else say(`${name}: returned ${label} to the queue`);
      if (e.type !== 'start') labels.delete(e.id);
    };
    let name = '';
    const worker = await startWorker(
      values.queue,
      {
        [PREPARE_JOB]: (data, ctx) => runPrepareJob(data as PrepareJobData, pacsClient, ctx.signal),
        // The experiment's code (tfjs, the native kernels) loads with the first such job.
        [EXPERIMENT_JOB]: async (data) => (await import('../experiment/grid')).runExperimentJob(data as ExperimentJobData, (m) => say(`${name}: ${m}`)),
      },
      { concurrency, lockMs, onEvent, onNotice: (m) => say(`${name}: ${m}`) },
    );
    name = worker.name;
    say(`${name}: waiting for jobs on ${shown} (concurrency ${concurrency})`);
    await new Promise<void>((resolve) => {
      let signals = 0;
      const onSignal = () => {
        signals += 1;
        if (signals === 1) say(`${name}: stopping after the running jobs (again to return them to the queue)`);
        void worker.stop({ returnJobs: signals > 1 }).then(() => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          resolve();
        });
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    say(`${name}: stopped`);
    return 0;
  },
};
