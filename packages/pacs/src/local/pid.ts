import { readFileSync } from 'node:fs';
import { LocalOrthancError } from './errors';

/**
 * True when a process with this pid exists and is not a zombie. EPERM (exists, owned by someone
 * else) counts as alive. On Linux a zombie (state Z in /proc/<pid>/stat) counts as dead.
 */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S …": the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): trust kill(0)
  }
}

/** The command line of `pid` from /proc, or undefined where /proc is unavailable. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/** Resolves true once `pid` is gone, false if it is still alive after `timeoutMs`. */
export async function waitForPidExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isPidAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

/** Options of {@link stopOrthancPid}. */
export interface StopOptions {
  /** How long to wait after SIGTERM before SIGKILL, in ms. Default 10 000 (Orthanc 1.10 needs ~2.5 s). */
  readonly timeoutMs?: number;
}

/** How a stop ended. */
export type StopOutcome = 'not-running' | 'terminated' | 'killed';

/** Longest wait for init to reap a stopped Orthanc (see waitUntilReaped). */
const REAP_WAIT_MS = 3_000;

/** Default of {@link StopOptions.timeoutMs}. */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/**
 * Stops an Orthanc started earlier (e.g. by `startOrthanc({ detached: true })` in another
 * process): SIGTERM, wait up to `timeoutMs`, then SIGKILL; then wait (≤ 3 s) until the dead process
 * has been reaped, so that even `process.kill(pid, 0)` reports it gone. Where /proc exists it first checks that
 * the pid really runs Orthanc, so a stale pid reused by another program is never signalled
 * (LocalOrthancError).
 */
export async function stopOrthancPid(pid: number, opts: StopOptions = {}): Promise<StopOutcome> {
  if (!isPidAlive(pid)) return 'not-running';
  const cmd = commandLine(pid);
  if (cmd !== undefined && !/Orthanc/.test(cmd)) {
    throw new LocalOrthancError(`pid ${pid} is not an Orthanc process (it runs: ${cmd.slice(0, 120)}); not stopping it`);
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  signal(pid, 'SIGTERM');
  let outcome: StopOutcome = 'terminated';
  if (!(await waitForPidExit(pid, timeoutMs))) {
    signal(pid, 'SIGKILL');
    if (!(await waitForPidExit(pid, 5_000))) throw new LocalOrthancError(`Orthanc (pid ${pid}) survived SIGKILL`);
    outcome = 'killed';
  }
  await waitUntilReaped(pid, REAP_WAIT_MS);
  return outcome;
}

/**
 * A detached Orthanc whose starter has exited is re-parented to init, which may take a while to
 * reap it (~1.4 s measured here); until then it is a zombie that kill(pid, 0) still finds. Waiting
 * up to `ms` for it to leave the process table lets callers that probe with kill(0) see it gone.
 */
async function waitUntilReaped(pid: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') {
      throw new LocalOrthancError(`cannot send ${sig} to Orthanc (pid ${pid}): ${(e as Error).message}`, undefined, { cause: e });
    }
  }
}
