import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { connectRedis } from './connection';
import { DEFAULT_QUEUE_NAME, checkJobId } from './jobs';
import type { JobOutcome, JobSpec } from './jobs';

/** Where a submission stands. */
export interface SubmitProgress {
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
  readonly running: number;
  readonly waiting: number;
}

export interface SubmitOptions {
  readonly queueName?: string;
  /** Attempts per job before it fails (transient errors are retried with exponential back-off). Default 3. */
  readonly attempts?: number;
  /** How often every unfinished job's state is read back, besides the live events (ms). Default 2000. */
  readonly reconcileMs?: number;
  readonly onProgress?: (p: SubmitProgress) => void;
  readonly onOutcome?: (o: JobOutcome) => void;
  /** One line each: Redis lost / back, jobs Redis lost and submitted again. */
  readonly onNotice?: (message: string) => void;
  /** Stops waiting (the jobs stay queued for the workers). */
  readonly signal?: AbortSignal;
}

/** Finished jobs stay inspectable for a week (BullMQ's own tools, redis-cli), then Redis drops them. */
const KEEP = { age: 7 * 24 * 3600 };

/**
 * Puts `jobs` on the queue and waits until every one has completed or failed, returning the
 * outcomes in the order given. A job still queued or running under the same id (an earlier
 * submission, another submitter) is joined, not doubled; a finished one is replaced, so a
 * re-run does the work again. If Redis loses jobs (restarted without its data), they are
 * submitted again: workers must treat a job as idempotent.
 */
export async function submitJobs(url: string, jobs: readonly JobSpec[], opts: SubmitOptions = {}): Promise<JobOutcome[]> {
  for (const j of jobs) checkJobId(j.id);
  if (new Set(jobs.map((j) => j.id)).size !== jobs.length) throw new Error('submitJobs: job ids must be unique');
  const name = opts.queueName ?? DEFAULT_QUEUE_NAME;
  const clients: Redis[] = [];
  try {
    clients.push(await connectRedis(url, opts.onNotice ? { onNotice: opts.onNotice } : {}));
    clients.push(await connectRedis(url));
    const queue = new Queue(name, { connection: clients[0]! });
    const events = new QueueEvents(name, { connection: clients[1]! });
    // Connection trouble is reported once by the connection's notice, not by every BullMQ class.
    queue.on('error', () => {});
    events.on('error', () => {});
    try {
      return await track(queue, events, jobs, opts);
    } finally {
      await Promise.allSettled([events.close(), queue.close()]);
    }
  } finally {
    for (const c of clients) c.disconnect();
  }
}

async function track(queue: Queue, events: QueueEvents, jobs: readonly JobSpec[], opts: SubmitOptions): Promise<JobOutcome[]> {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const outcomes = new Map<string, JobOutcome>();
  const running = new Set<string>();
  const jobOpts = (id: string) => ({
    jobId: id,
    attempts: opts.attempts ?? 3,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: KEEP,
    removeOnFail: KEEP,
  });
  let wake: () => void = () => {};
  const report = () =>
    opts.onProgress?.({
      total: jobs.length,
      completed: [...outcomes.values()].filter((o) => o.status === 'completed').length,
      failed: [...outcomes.values()].filter((o) => o.status === 'failed').length,
      running: running.size,
      waiting: jobs.length - outcomes.size - running.size,
    });

  const add = (list: readonly JobSpec[]) => queue.addBulk(list.map((j) => ({ name: j.kind, data: j.data, opts: jobOpts(j.id) })));
  // Reads one job's state; records its outcome once it has one. Lost jobs are submitted again.
  const check = async (id: string): Promise<void> => {
    const spec = byId.get(id);
    if (!spec || outcomes.has(id)) return;
    const state = await queue.getJobState(id);
    if (state === 'completed' || state === 'failed') {
      const job = await queue.getJob(id);
      const outcome: JobOutcome =
        state === 'completed'
          ? { id, kind: spec.kind, status: 'completed', result: job?.returnvalue ?? null }
          : { id, kind: spec.kind, status: 'failed', reason: job?.failedReason || 'failed' };
      if (outcomes.has(id)) return;
      outcomes.set(id, outcome);
      running.delete(id);
      opts.onOutcome?.(outcome);
      report();
      wake();
    } else if (state === 'unknown') {
      running.delete(id);
      opts.onNotice?.(`job ${id} is no longer in Redis (restarted without its data?): submitted again`);
      await add([spec]);
    } else if (state === 'active') {
      running.add(id);
    } else {
      running.delete(id);
    }
  };
  const onEvent = ({ jobId }: { jobId: string }) => void check(jobId).catch(() => {});
  events.on('completed', onEvent);
  events.on('failed', onEvent);
  events.on('active', ({ jobId }) => {
    if (byId.has(jobId) && !outcomes.has(jobId)) {
      running.add(jobId);
      report();
    }
  });
  await events.waitUntilReady();

  // Join what is still queued, replace what has finished, add the rest.
  const fresh: JobSpec[] = [];
  for (const j of jobs) {
    const state = await queue.getJobState(j.id);
    if (state === 'completed' || state === 'failed') await queue.remove(j.id);
    if (state === 'completed' || state === 'failed' || state === 'unknown') fresh.push(j);
    else if (state === 'active') running.add(j.id);
  }
  for (let n = 0; n < fresh.length; n += 500) await add(fresh.slice(n, n + 500));
  report();

  const reconcileMs = opts.reconcileMs ?? 2_000;
  while (outcomes.size < jobs.length) {
    opts.signal?.throwIfAborted();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, reconcileMs);
      const abort = () => resolve();
      opts.signal?.addEventListener('abort', abort, { once: true });
      wake = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', abort);
        resolve();
      };
    });
    if (outcomes.size >= jobs.length) break;
    opts.signal?.throwIfAborted();
    const unfinished = jobs.filter((j) => !outcomes.has(j.id)).map((j) => j.id);
    for (let n = 0; n < unfinished.length; n += 200) await Promise.all(unfinished.slice(n, n + 200).map(check));
    report();
  }
  return jobs.map((j) => outcomes.get(j.id)!);
}
