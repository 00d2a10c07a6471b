import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { OrthancConfig } from './config';
import { orthancConfig } from './config';
import { INSTALL_HINT, LocalOrthancError } from './errors';
import { findDicomWebPlugin, findOrthancBinary } from './locate';
import { fileSize, readFrom, tailFile } from './log-tail';
import type { StopOptions } from './pid';
import { DEFAULT_STOP_TIMEOUT_MS, stopOrthancPid } from './pid';
import { freePort } from './port';

/** Options of {@link startOrthanc}. */
export interface StartOrthancOptions {
  /** HTTP port. Default: a free port picked by the OS (retried up to 3 times if taken meanwhile). */
  readonly port?: number;
  /**
   * Folder for the config, log and storage (`<dir>/db`); an existing one is reused with its data.
   * Default: a fresh `mkdtemp(os.tmpdir()/tomosort-orthanc-)`, removed by stop() unless detached.
   */
  readonly dir?: string;
  /** Let Orthanc outlive this process (for `tomosort pacs up`); stop it later with stopOrthancPid. Default false. */
  readonly detached?: boolean;
  /** Log file receiving Orthanc's stdout and stderr. Default `<dir>/orthanc.log`. */
  readonly log?: string;
  /** Orthanc executable. Default: $TOMOSORT_ORTHANC_BIN, /usr/sbin/Orthanc, …, PATH. */
  readonly binary?: string;
  /** DICOMweb plugin (.so). Default: found under /usr/share/orthanc/plugins or /usr/lib/orthanc. */
  readonly dicomWebPlugin?: string;
  /** Extra Orthanc configuration merged over the defaults (e.g. AuthenticationEnabled, RegisteredUsers). */
  readonly config?: OrthancConfig;
  /** How long to wait for GET /system to answer, in ms. Default 15 000. */
  readonly startTimeoutMs?: number;
}

/** A running local Orthanc. */
export interface LocalOrthanc {
  /** `http://127.0.0.1:<port>`: Orthanc's REST root; DICOMweb lives at `${url}/dicom-web`. */
  readonly url: string;
  readonly pid: number;
  readonly dir: string;
  readonly port: number;
  readonly logFile: string;
  readonly configFile: string;
  /** SIGTERM, wait for exit (SIGKILL after `timeoutMs`, default 10 s); removes a temporary dir. Idempotent. */
  stop(opts?: StopOptions): Promise<void>;
}

/** Default of {@link StartOrthancOptions.startTimeoutMs}. */
export const DEFAULT_START_TIMEOUT_MS = 15_000;

const PORT_ATTEMPTS = 3;
const POLL_MS = 50;

class PortInUseError extends LocalOrthancError {}

/** Children that must not outlive this process: on exit they get SIGTERM (Orthanc then shuts down alone). */
const attached = new Set<ChildProcess>();
let exitHookInstalled = false;
function killAttachedOnExit(child: ChildProcess): void {
  attached.add(child);
  child.once('exit', () => attached.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of attached) c.kill('SIGTERM');
  });
}

/**
 * Starts a private Orthanc (with the DICOMweb plugin) on a loopback port and resolves once
 * GET /system answers. Throws LocalOrthancError, with the tail of Orthanc's log and, when the
 * binary or plugin is missing, a hint to install the `orthanc` and `orthanc-dicomweb` packages.
 */
export async function startOrthanc(opts: StartOrthancOptions = {}): Promise<LocalOrthanc> {
  const binary = findOrthancBinary(opts.binary);
  const plugin = findDicomWebPlugin(opts.dicomWebPlugin);
  const ownDir = opts.dir === undefined;
  const dir = resolve(opts.dir ?? mkdtempSync(join(tmpdir(), 'tomosort-orthanc-')));
  mkdirSync(dir, { recursive: true });
  const removeDir = ownDir && !opts.detached;
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    try {
      return await launch({ ...opts, binary, plugin, dir, port, removeDir });
    } catch (e) {
      if (e instanceof PortInUseError && opts.port === undefined && attempt < PORT_ATTEMPTS) continue;
      if (ownDir) rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }
}

interface LaunchPlan extends StartOrthancOptions {
  readonly binary: string;
  readonly plugin: string;
  readonly dir: string;
  readonly port: number;
  readonly removeDir: boolean;
}

async function launch(plan: LaunchPlan): Promise<LocalOrthanc> {
  const { binary, dir, port } = plan;
  const configFile = join(dir, 'orthanc.json');
  const logFile = resolve(plan.log ?? join(dir, 'orthanc.log'));
  // A unique Name lets the readiness probe tell this Orthanc from another server on the port.
  const name = `tomosort-local-${randomBytes(4).toString('hex')}`;
  const config = orthancConfig({ name, dir, port, plugin: plan.plugin }, plan.config);
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const logStart = fileSize(logFile);
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(binary, [configFile], { cwd: dir, detached: plan.detached ?? false, stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<string>((res) => {
    child.once('error', (e: NodeJS.ErrnoException) =>
      res(e.code === 'ENOENT' ? `cannot run ${binary} (ENOENT); ${INSTALL_HINT}` : `cannot run ${binary}: ${e.message}`),
    );
    child.once('exit', (code, sig) => res(`Orthanc exited during start-up (${sig ?? `code ${code}`})`));
  });
  if (plan.detached) child.unref();
  else killAttachedOnExit(child);

  const url = `http://127.0.0.1:${port}`;
  const timeoutMs = plan.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const ours: Readiness = { url, logFile, logStart, name: String(config['Name']) };
  const failure = await Promise.race([exited, waitUntilReady(ours, timeoutMs, exited)]);
  if (failure !== undefined) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) await stopChild(child, 2_000);
    const tail = tailFile(logFile);
    const message = `${failure} (port ${port}, log ${logFile})`;
    throw /already in use/i.test(tail) ? new PortInUseError(message, tail) : new LocalOrthancError(message, tail);
  }
  const pid = child.pid!;
  let stopping: Promise<void> | undefined;
  return {
    url,
    pid,
    dir,
    port,
    logFile,
    configFile,
    stop(stopOpts?: StopOptions): Promise<void> {
      stopping ??= (async () => {
        const timeout = stopOpts?.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
        if (plan.detached) await stopOrthancPid(pid, { timeoutMs: timeout });
        else await stopChild(child, timeout);
        if (plan.removeDir) rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/** What identifies the Orthanc just spawned. */
interface Readiness {
  readonly url: string;
  readonly logFile: string;
  /** Log size before the spawn: only later lines are this process's. */
  readonly logStart: number;
  readonly name: string;
}

/**
 * Polls until the Orthanc just spawned serves HTTP. An answer on the port alone is not proof (another
 * server may hold the port while ours fails to bind), so it also needs this process's own
 * "Orthanc has started" log line, or a 200 from GET /system carrying our Name. Resolves a failure
 * text, or undefined when ready (or when the exit text wins the race).
 */
async function waitUntilReady(r: Readiness, timeoutMs: number, exited: Promise<string>): Promise<string | undefined> {
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + timeoutMs;
  while (!done) {
    const started = /Orthanc has started/.test(readFrom(r.logFile, r.logStart));
    try {
      const res = await fetch(`${r.url}/system`, { signal: AbortSignal.timeout(1_000) });
      const body = await res.text();
      const named = res.ok && (JSON.parse(body) as { Name?: unknown }).Name === r.name;
      if (!done && (named || (started && (res.ok || res.status === 401)))) return undefined;
    } catch {
      // not listening yet
    }
    if (Date.now() >= deadline) return `Orthanc did not answer GET ${r.url}/system within ${timeoutMs} ms`;
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
  return undefined;
}

/** SIGTERM, wait for the 'exit' event up to timeoutMs, then SIGKILL. */
async function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    gone.then(() => false),
    new Promise<boolean>((res) => (timer = setTimeout(() => res(true), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await gone;
  }
}
