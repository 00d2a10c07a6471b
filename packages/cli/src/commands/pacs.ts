import { PacsClient } from '@tomosort/pacs';
import { isPidAlive, startOrthanc, stopOrthancPid } from '@tomosort/pacs/local';
import { join } from 'node:path';
import type { Command } from '../cli';
import { tomosortHome, userPath } from '../env';
import { UsageError } from '../errors';
import { JSON_OPTION, intOption, parse } from '../parse';
import { clearPacsState, readPacsState, writePacsState } from '../pacsState';
import { describeReconciled, reconcileAllPendingImports } from '../pendingImports';

const USAGE = `usage: pnpm tomosort pacs <up|down|status> [options]

  up      start a local Orthanc (Debian package) with DICOMweb on 127.0.0.1, in the background
            --port P   HTTP port (default: a free one)
            --dir D    storage folder (default: $TOMOSORT_HOME/orthanc, kept between runs)
            --json     print {"url","pid","dir"}
  down    stop it
  status  say whether it runs and answers; then finish every import an earlier run left
          pending (in any PACS; see \`tomosort import\`): a partial series is rolled back,
          a complete one kept`;

const print = (json: boolean, value: object, text: string) =>
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);

async function answers(url: string): Promise<boolean> {
  try {
    await new PacsClient({ baseUrl: url, retries: 0, timeoutMs: 3000 }).system();
    return true;
  } catch {
    return false;
  }
}

async function up(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { port: { type: 'string' }, dir: { type: 'string' }, ...JSON_OPTION }, USAGE, false);
  const existing = readPacsState();
  if (existing && isPidAlive(existing.pid) && (await answers(existing.url))) {
    print(values.json, { url: existing.url, pid: existing.pid, dir: existing.dir }, `Orthanc already running at ${existing.url} (pid ${existing.pid}, storage ${existing.dir})`);
    return 0;
  }
  const port = values.port === undefined ? undefined : intOption('port', values.port, 0, 1);
  const dir = values.dir ? userPath(values.dir) : join(tomosortHome(), 'orthanc');
  const orthanc = await startOrthanc({ ...(port === undefined ? {} : { port }), dir, detached: true });
  writePacsState({ url: orthanc.url, pid: orthanc.pid, dir: orthanc.dir, port: orthanc.port, startedAt: new Date().toISOString() });
  print(values.json, { url: orthanc.url, pid: orthanc.pid, dir: orthanc.dir }, `Orthanc running at ${orthanc.url} (pid ${orthanc.pid}, storage ${orthanc.dir})`);
  return 0;
}

async function down(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { ...JSON_OPTION }, USAGE, false);
  const state = readPacsState();
  if (!state) {
    print(values.json, { stopped: false }, 'no local Orthanc recorded; nothing to stop');
    return 0;
  }
  if (isPidAlive(state.pid)) await stopOrthancPid(state.pid, { timeoutMs: 10_000 });
  clearPacsState();
  print(values.json, { stopped: true, pid: state.pid }, `stopped Orthanc (pid ${state.pid})`);
  return 0;
}

async function status(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { ...JSON_OPTION }, USAGE, false);
  const state = readPacsState();
  const running = state !== undefined && isPidAlive(state.pid);
  const ok = running && (await answers(state.url));
  const reconciled = await reconcileAllPendingImports();
  const text = [
    ok ? `Orthanc running at ${state!.url} (pid ${state!.pid}, storage ${state!.dir})` : running ? `Orthanc pid ${state!.pid} is alive but ${state!.url} does not answer` : 'no local Orthanc running',
    ...reconciled.map((r) => `import: ${describeReconciled(r)}`),
  ].join('\n');
  const pendingImports = reconciled.map((r) => ({
    outcome: r.outcome,
    pacsUrl: r.entry.pacsUrl,
    studyInstanceUID: r.entry.studyInstanceUID,
    seriesInstanceUID: r.entry.seriesInstanceUID,
    expectedInstances: r.entry.expectedInstances,
    source: r.entry.source,
    startedAt: r.entry.startedAt,
    ...(r.outcome === 'rolled-back' ? { removed: r.removed } : r.outcome === 'complete' || r.outcome === 'needs-import' ? { stored: r.stored } : {}),
  }));
  print(values.json, { running: ok, ...(state ? { url: state.url, pid: state.pid, dir: state.dir } : {}), pendingImports }, text);
  return ok ? 0 : 1;
}

export const pacsCommand: Command = {
  usage: USAGE,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === 'up') return up(rest);
    if (sub === 'down') return down(rest);
    if (sub === 'status') return status(rest);
    throw new UsageError(`unknown pacs subcommand "${sub ?? ''}"\n\n${USAGE}`);
  },
};
