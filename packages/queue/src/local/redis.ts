import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueError } from '../errors';

/** A redis-server this process started on 127.0.0.1 (tests, `bench prepare`). */
export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** SIGTERM and wait for exit; removes its temporary folder. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (a crash): what an outage looks like to clients. */
  kill(): Promise<void>;
}

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

function findRedisServer(): string {
  const found = [process.env.TOMOSORT_REDIS_BIN, ...CANDIDATES].find((p): p is string => Boolean(p) && existsSync(p!));
  if (!found) throw new QueueError('redis-server not found: install it with `apt-get install redis-server` (Debian 12), or set TOMOSORT_REDIS_BIN');
  return found;
}

/** A loopback port free a moment ago (the OS picks it for a listener on port 0). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    let text = '';
    sock.setTimeout(500, () => {
      sock.destroy();
      resolve(false);
    });
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      text += d.toString();
      if (text.includes('\r\n')) {
        sock.end();
        resolve(text.startsWith('+PONG'));
      }
    });
    sock.on('error', () => resolve(false));
  });
}

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

/**
 * Starts redis-server on 127.0.0.1 (`port`, default a free one) without persistence — restarting
 * it gives an empty Redis, the harshest outage a queue client can meet — and waits until it answers.
 */
export async function startRedis(opts: { port?: number; timeoutMs?: number } = {}): Promise<LocalRedis> {
  const binary = findRedisServer();
  const port = opts.port ?? (await freeLoopbackPort());
  const dir = mkdtempSync(join(tmpdir(), 'tomosort-redis-'));
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (!(await pings(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new QueueError(`redis-server on port ${port} did not start${stderr ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const end = async (signal: NodeJS.Signals) => {
    process.off('exit', onExit);
    child.kill(signal);
    await exited(child);
    rmSync(dir, { recursive: true, force: true });
  };
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid!, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}
