import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentJobFailure, QueueUnavailableError, QueueUrlError, displayUrl, redisOptions, startWorker, submitJobs } from './index';
import type { JobHandler, RunningWorker, WorkerEvent } from './index';
import { startRedis } from './local';
import type { LocalRedis } from './local';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('queue URLs', () => {
  it('reads host, port and database, and takes credentials from the environment only', () => {
    expect(redisOptions('redis://10.0.0.5:6390/2', {})).toEqual({ host: '10.0.0.5', port: 6390, db: 2 });
    expect(redisOptions('redis://queue', { TOMOSORT_REDIS_PASSWORD: 's3cret' })).toEqual({ host: 'queue', port: 6379, password: 's3cret' });
    expect(() => redisOptions('redis://user:s3cret@queue:6379')).toThrow(QueueUrlError);
    expect(() => redisOptions('redis://user:s3cret@queue:6379')).toThrow(/must not hold credentials.*TOMOSORT_REDIS_PASSWORD/);
    expect(() => redisOptions('http://queue:6379')).toThrow(/expected redis:\/\/HOST/);
    expect(() => redisOptions('redis://queue/abc')).toThrow(/database number/);
    expect(displayUrl('redis://queue:7000/1')).toBe('redis://queue:7000/1');
  });
});

describe('jobs on a real redis-server', () => {
  let redis: LocalRedis;
  const workers: RunningWorker[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.allSettled(workers.map((w) => w.stop({ returnJobs: true })));
    await redis?.stop();
  });
  const worker = async (handlers: Record<string, JobHandler>, queueName: string, events?: WorkerEvent[], lockMs?: number) => {
    const w = await startWorker(redis.url, handlers, { queueName, lockMs: lockMs ?? 2_000, ...(events ? { onEvent: (e) => events.push(e) } : {}) });
    workers.push(w);
    return w;
  };

  it('two workers share the jobs; each runs once and the outcomes come back in the order given', async () => {
    const ran: string[] = [];
    const handlers = {
      square: async (data: unknown, ctx: { id: string }) => {
        ran.push(ctx.id);
        await sleep(30);
        return { square: (data as { x: number }).x ** 2 };
      },
    };
    const a: WorkerEvent[] = [];
    const b: WorkerEvent[] = [];
    await worker(handlers, 'share', a);
    await worker(handlers, 'share', b);
    const jobs = Array.from({ length: 8 }, (_, n) => ({ id: `sq-${n}`, kind: 'square', data: { x: n } }));
    const outcomes = await submitJobs(redis.url, jobs, { queueName: 'share', reconcileMs: 200 });
    expect(outcomes.map((o) => o.id)).toEqual(jobs.map((j) => j.id));
    expect(outcomes.map((o) => (o.status === 'completed' ? (o.result as { square: number }).square : NaN))).toEqual([0, 1, 4, 9, 16, 25, 36, 49]);
    expect([...ran].sort()).toEqual(jobs.map((j) => j.id).sort());
    // Both workers took part.
    expect(a.filter((e) => e.type === 'done').length).toBeGreaterThan(0);
    expect(b.filter((e) => e.type === 'done').length).toBeGreaterThan(0);
  });

  it('a permanent failure fails at once with its message; a transient one is retried and succeeds', async () => {
    const attempts = new Map<string, number>();
    await worker(
      {
        flaky: async (_d, ctx) => {
          attempts.set(ctx.id, ctx.attempt);
          if (ctx.attempt === 1) throw new Error('connection reset');
          return 'ok';
        },
        corrupt: async (_d, ctx) => {
          attempts.set(ctx.id, ctx.attempt);
          throw new PermanentJobFailure('series 1.2.3: slice 4 has 256 columns, the others 512');
        },
      },
      'retry',
    );
    const outcomes = await submitJobs(
      redis.url,
      [
        { id: 'flaky-1', kind: 'flaky', data: {} },
        { id: 'corrupt-1', kind: 'corrupt', data: {} },
        { id: 'unknown-1', kind: 'nobody-runs-this', data: {} },
      ],
      { queueName: 'retry', reconcileMs: 200 },
    );
    expect(outcomes[0]).toMatchObject({ status: 'completed', result: 'ok' });
    expect(attempts.get('flaky-1')).toBe(2);
    expect(outcomes[1]).toMatchObject({ status: 'failed', reason: 'series 1.2.3: slice 4 has 256 columns, the others 512' });
    expect(attempts.get('corrupt-1')).toBe(1);
    expect(outcomes[2]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/no handler for job kind "nobody-runs-this".*flaky, corrupt/) });
  });

  it('re-submitting a queued job joins it instead of running it twice', async () => {
    let runs = 0;
    const jobs = [{ id: 'once-1', kind: 'slow', data: {} }];
    const first = submitJobs(redis.url, jobs, { queueName: 'join', reconcileMs: 200 });
    const second = submitJobs(redis.url, jobs, { queueName: 'join', reconcileMs: 200 });
    await sleep(300);
    await worker({ slow: async () => (await sleep(300), ++runs) }, 'join');
    const [a, b] = await Promise.all([first, second]);
    expect(runs).toBe(1);
    expect(a[0]).toMatchObject({ status: 'completed', result: 1 });
    expect(b[0]).toMatchObject({ status: 'completed', result: 1 });
  });

  it('a stopping worker returns its running job to the queue; another finishes it', async () => {
    const events: WorkerEvent[] = [];
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    const first = await worker(
      {
        long: (_d, ctx) =>
          new Promise((_, reject) => {
            started();
            ctx.signal.addEventListener('abort', () => reject(new Error('aborted')));
          }),
      },
      'return',
      events,
    );
    const submitted = submitJobs(redis.url, [{ id: 'long-1', kind: 'long', data: {} }], { queueName: 'return', reconcileMs: 200 });
    await startedP;
    await first.stop({ returnJobs: true });
    expect(events.map((e) => e.type)).toEqual(['start', 'returned']);
    let attempt = 0;
    await worker({ long: async (_d, ctx) => ((attempt = ctx.attempt), 'finished elsewhere') }, 'return');
    expect((await submitted)[0]).toMatchObject({ status: 'completed', result: 'finished elsewhere' });
    expect(attempt).toBe(1); // returning is not a failed attempt
  });
});

describe('Redis outages', () => {
  it('a submission to a Redis that is not there fails with one line naming the URL', async () => {
    const gone = await startRedis();
    await gone.stop();
    const err = await submitJobs(gone.url, [{ id: 'x-1', kind: 'k', data: {} }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueUnavailableError);
    expect((err as Error).message).toBe(`${gone.url}: cannot reach Redis (ECONNREFUSED)`);
  });

  it('Redis restarted empty mid-submission: the lost jobs are submitted again and finish', async () => {
    let redis = await startRedis();
    const port = redis.port;
    const notices: string[] = [];
    let gate!: () => void;
    const gateP = new Promise<void>((r) => (gate = r));
    let runs = 0;
    const handlers: Record<string, JobHandler> = {
      step: async (d, ctx) => {
        // The first run is cut off by the outage (Redis forgets it); it ends on its own later.
        if (++runs === 1) await new Promise((resolve) => (gate(), setTimeout(resolve, 3_000), ctx.signal.addEventListener('abort', resolve)));
        return (d as { n: number }).n;
      },
    };
    const w = await startWorker(redis.url, handlers, { queueName: 'outage', concurrency: 2, lockMs: 1_000, onNotice: (m) => notices.push(`worker: ${m}`) });
    try {
      const submitted = submitJobs(redis.url, [{ id: 'o-1', kind: 'step', data: { n: 7 } }], { queueName: 'outage', reconcileMs: 300, onNotice: (m) => notices.push(m) });
      await gateP;
      await redis.kill();
      await sleep(500);
      redis = await startRedis({ port });
      expect((await submitted)[0]).toMatchObject({ status: 'completed', result: 7 });
      expect(notices).toContainEqual(expect.stringMatching(new RegExp(`^${redis.url}: connection to Redis lost \\(.+\\); waiting for it to come back$`)));
      expect(notices).toContainEqual(expect.stringMatching(new RegExp(`^worker: ${redis.url}: connection to Redis lost`)));
      expect(notices).toContain(`${redis.url}: Redis is back`);
      expect(notices).toContain('job o-1 is no longer in Redis (restarted without its data?): submitted again');
    } finally {
      await w.stop({ returnJobs: true });
      await redis.stop();
    }
  });
});
