import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { QueueUnavailableError, QueueUrlError } from './errors';

/** Environment variables holding the Redis credentials (never the URL: it shows in `ps` and logs). */
export const REDIS_USER_ENV = 'TOMOSORT_REDIS_USER';
export const REDIS_PASSWORD_ENV = 'TOMOSORT_REDIS_PASSWORD';

/** How long a first connection may take before the command gives up with a one-line error. */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * ioredis options for `redis://HOST[:PORT][/DB]` (rediss:// for TLS). Credentials come from
 * $TOMOSORT_REDIS_USER / $TOMOSORT_REDIS_PASSWORD; a URL holding them is refused.
 */
export function redisOptions(url: string, env: NodeJS.ProcessEnv = process.env): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueUrlError(`${url}: not a queue URL; expected redis://HOST[:PORT][/DB]`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QueueUrlError(`${url}: not a queue URL; expected redis://HOST[:PORT][/DB]`);
  if (u.username || u.password) {
    throw new QueueUrlError(`the queue URL must not hold credentials (user:password@): set ${REDIS_USER_ENV} / ${REDIS_PASSWORD_ENV} in the environment`);
  }
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new QueueUrlError(`${url}: the path must be a database number (redis://HOST:PORT/0), got "/${db}"`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(db ? { db: Number(db) } : {}),
    ...(env[REDIS_USER_ENV] ? { username: env[REDIS_USER_ENV] } : {}),
    ...(env[REDIS_PASSWORD_ENV] ? { password: env[REDIS_PASSWORD_ENV] } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** The URL as shown to the user: scheme, host, port and database only. */
export function displayUrl(url: string): string {
  const o = redisOptions(url);
  return `${url.startsWith('rediss:') ? 'rediss' : 'redis'}://${o.host}:${o.port}${o.db === undefined ? '' : `/${o.db}`}`;
}

/**
 * A Redis connection for BullMQ, connected (or a QueueUnavailableError naming the URL within
 * `timeoutMs`). Once up, it reconnects by itself whenever Redis goes away; commands wait for it
 * (BullMQ's requirement: no per-request retry limit), and `onNotice` hears each loss and return
 * as one line naming the URL.
 */
export async function connectRedis(
  url: string,
  opts: { timeoutMs?: number; onNotice?: (message: string) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<Redis> {
  const shown = displayUrl(url);
  const lostLine = (reason: string) => `${shown}: connection to Redis lost (${reason}); waiting for it to come back`;
  const client = new Redis({
    ...redisOptions(url, opts.env),
    lazyConnect: true,
    maxRetriesPerRequest: null,
    connectTimeout: opts.timeoutMs ?? CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(200 * times, 2_000),
  });
  let lastError = '';
  let up = false;
  let lost = false;
  client.on('error', (e: Error & { code?: string }) => {
    lastError = e.code ?? e.message;
    if (up && !lost) {
      lost = true;
      opts.onNotice?.(lostLine(lastError));
    }
  });
  client.on('ready', () => {
    if (lost) opts.onNotice?.(`${shown}: Redis is back`);
    lost = false;
  });
  client.on('close', () => {
    if (up && !lost && client.status !== 'end') {
      lost = true;
      opts.onNotice?.(lostLine(lastError || 'connection closed'));
    }
  });
  const timeoutMs = opts.timeoutMs ?? CONNECT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(lastError || `no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    await client.ping();
  } catch (e) {
    client.disconnect();
    const reason = lastError || (e as Error).message;
    throw new QueueUnavailableError(shown, /NOAUTH|WRONGPASS/.test(reason) ? `${reason}: check ${REDIS_USER_ENV} / ${REDIS_PASSWORD_ENV}` : reason);
  } finally {
    clearTimeout(timer);
  }
  up = true;
  return client;
}
