import { hostname } from 'node:os';
import { UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { connectRedis } from './connection';
import { PermanentJobFailure } from './errors';
import { DEFAULT_QUEUE_NAME } from './jobs';

/** How long a worker told to return its jobs waits for their handlers to give up. */
const RETURN_GRACE_MS = 10_000;

/** What a handler gets besides the job's data. */
export interface JobContext {
  readonly id: string;
  /** 1 on the first try. */
  readonly attempt: number;
  /** Aborted when the worker is told to return its jobs: stop and throw. */
  readonly signal: AbortSignal;
}

/** A job's lock by default (see {@link WorkerOptions.lockMs}). */
export const DEFAULT_LOCK_MS = 120_000;

/** Does one kind of job; its resolved value (plain JSON) becomes the job's result. */
export type JobHandler = (data: unknown, ctx: JobContext) => Promise<unknown>;

export type WorkerEvent =
  | { readonly type: 'start'; readonly id: string; readonly kind: string; readonly attempt: number; readonly data: unknown }
  | { readonly type: 'done'; readonly id: string; readonly kind: string; readonly seconds: number; readonly result: unknown }
  | { readonly type: 'failed'; readonly id: string; readonly kind: string; readonly reason: string; readonly permanent: boolean }
  | { readonly type: 'returned'; readonly id: string; readonly kind: string };

export interface WorkerOptions {
  readonly queueName?: string;
  /** Jobs run at once in this process. Default 1. */
  readonly concurrency?: number;
  /**
   * A job's lock: renewed while the worker lives; when a worker dies, its job goes back to the
   * queue once the lock has expired (another worker's stalled-job check). Default 120 000 ms: the
   * lock is renewed from the event loop, which a job's synchronous stretches (a training step, an
   * evaluation) hold; on a loaded machine 30 s was too short, and live workers' jobs ran twice.
   */
  readonly lockMs?: number;
  readonly onEvent?: (e: WorkerEvent) => void;
  /** One line each: Redis lost / back. */
  readonly onNotice?: (message: string) => void;
}

export interface RunningWorker {
  /** `hostname:pid`, as BullMQ's tools show it. */
  readonly name: string;
  /**
   * Stops taking jobs. By default waits for the running ones to finish; with `returnJobs` they
   * are cancelled and put back on the queue (not counted as failed attempts).
   */
  stop(opts?: { returnJobs?: boolean }): Promise<void>;
}

/** A worker for `handlers` (by job kind) on the queue at `url`; resolves once connected. */
export async function startWorker(url: string, handlers: Readonly<Record<string, JobHandler>>, opts: WorkerOptions = {}): Promise<RunningWorker> {
  const name = `${hostname()}:${process.pid}`;
  const client: Redis = await connectRedis(url, {
    ...(opts.onNotice ? { onNotice: opts.onNotice } : {}),
  });
  let returning = false;
  const kinds = Object.keys(handlers);
  const process_ = async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const id = job.id!;
    const handler = handlers[job.name];
    if (!handler) throw new UnrecoverableError(`this worker has no handler for job kind "${job.name}" (it runs: ${kinds.join(', ')})`);
    const started = performance.now();
    opts.onEvent?.({ type: 'start', id, kind: job.name, attempt: job.attemptsMade + 1, data: job.data });
    try {
      const result = await handler(job.data, { id, attempt: job.attemptsMade + 1, signal: signal ?? new AbortController().signal });
      opts.onEvent?.({ type: 'done', id, kind: job.name, seconds: (performance.now() - started) / 1000, result });
      return result ?? null;
    } catch (e) {
      if (returning && signal?.aborted) {
        await job.moveToWait(token);
        opts.onEvent?.({ type: 'returned', id, kind: job.name });
        throw new WaitingError();
      }
      const permanent = e instanceof PermanentJobFailure || e instanceof UnrecoverableError;
      const reason = e instanceof Error ? e.message : String(e);
      opts.onEvent?.({ type: 'failed', id, kind: job.name, reason, permanent });
      throw permanent ? new UnrecoverableError(reason) : e;
    }
  };
  const lockMs = opts.lockMs ?? DEFAULT_LOCK_MS;
  const worker = new Worker(opts.queueName ?? DEFAULT_QUEUE_NAME, process_, {
    connection: client,
    name,
    concurrency: opts.concurrency ?? 1,
    lockDuration: lockMs,
    // Checked every 30 s at most, so a dead worker's job is taken over soon after its lock expires.
    stalledInterval: Math.min(lockMs, 30_000),
    // A job whose worker died twice is still given a third worker before it fails.
    maxStalledCount: 2,
  });
  // BullMQ reports connection trouble here too; the connection's own notice already said it.
  worker.on('error', () => {});
  await worker.waitUntilReady();
  let stopped: Promise<void> | undefined;
  return {
    name,
    stop(o = {}) {
      if (o.returnJobs && !returning) {
        returning = true;
        worker.cancelAllJobs('the worker is stopping');
        // A handler that ignores its signal must not keep a returning worker alive: after a grace
        // period the worker closes anyway (that job goes back to the queue when its lock expires).
        const grace = new Promise((r) => setTimeout(r, RETURN_GRACE_MS).unref());
        stopped = Promise.race([worker.close(), grace])
          .then(() => worker.close(true))
          .finally(() => client.disconnect());
      }
      stopped ??= worker.close().finally(() => client.disconnect());
      return stopped;
    },
  };
}
