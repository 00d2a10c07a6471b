import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PacsClient, pacsConfigFromEnv, seriesUid, studyUid } from '@tomosort/pacs';
import { isPidAlive } from '@tomosort/pacs/local';
import { tomosortHome } from './env';
import { CliError } from './errors';
import { removeFileDurable, writeFileDurable } from './files';

/**
 * A series `tomosort import` has started to upload and not yet verified: written (durably)
 * before the first instance is sent, removed once the PACS holds every instance or the series
 * is rolled back. An entry left behind means the PACS may hold part of the series.
 */
export interface PendingImport {
  /** The PACS root, without credentials (PacsClient.baseUrl). */
  readonly pacsUrl: string;
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  /** Instances the import sends: the PACS holds the whole series when it holds this many. */
  readonly expectedInstances: number;
  /** What the user imported (`sample:cranium`, a folder, a file). */
  readonly source: string;
  /** ISO time the upload started. */
  readonly startedAt: string;
  /**
   * The PACS held this series before the import began: a rollback would delete data the import
   * did not bring, so the series is never deleted; the import must be run again instead.
   */
  readonly seriesExisted: boolean;
  /** The importing process: an entry whose process still runs is an import in progress. */
  readonly pid: number;
}

/** Where the entries live: one JSON file per (PACS, series) under $TOMOSORT_HOME/pending-imports. */
export const pendingImportsDir = (): string => join(tomosortHome(), 'pending-imports');

const entryPath = (pacsUrl: string, series: string): string =>
  join(pendingImportsDir(), `${createHash('sha256').update(`${pacsUrl}\n${series}`).digest('hex').slice(0, 24)}.json`);

/** Records an upload about to start (temp file, fsync, rename, fsync of the folder). */
export function recordPendingImport(entry: PendingImport): void {
  writeFileDurable(entryPath(entry.pacsUrl, entry.seriesInstanceUID), `${JSON.stringify(entry, null, 2)}\n`);
}

/** Removes the entry of a series that is complete or rolled back. */
export function clearPendingImport(entry: Pick<PendingImport, 'pacsUrl' | 'seriesInstanceUID'>): void {
  removeFileDurable(entryPath(entry.pacsUrl, entry.seriesInstanceUID));
}

function isPendingImport(v: unknown): v is PendingImport {
  const o = v as Record<string, unknown> | null;
  return (
    typeof o === 'object' && o !== null &&
    typeof o['pacsUrl'] === 'string' && typeof o['studyInstanceUID'] === 'string' && typeof o['seriesInstanceUID'] === 'string' &&
    typeof o['expectedInstances'] === 'number' && typeof o['source'] === 'string' && typeof o['startedAt'] === 'string' &&
    typeof o['seriesExisted'] === 'boolean' && typeof o['pid'] === 'number'
  );
}

/** Every pending entry (of one PACS when `pacsUrl` is given), oldest first. Throws CliError naming an unreadable entry. */
export function readPendingImports(pacsUrl?: string): PendingImport[] {
  let names: string[];
  try {
    names = readdirSync(pendingImportsDir()).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const entries: PendingImport[] = [];
  for (const name of names) {
    const file = join(pendingImportsDir(), name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile by another import
      parsed = undefined;
    }
    if (!isPendingImport(parsed)) {
      throw new CliError(`${file}: not a readable pending-import record; check the PACS for a partial series, then delete the file`);
    }
    if (pacsUrl === undefined || parsed.pacsUrl === pacsUrl) entries.push(parsed);
  }
  return entries.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** How many instances of the entry's series the PACS holds now (0 when it holds none). */
export async function storedInstances(pacs: PacsClient, entry: Pick<PendingImport, 'studyInstanceUID' | 'seriesInstanceUID'>): Promise<number> {
  const [hit] = await pacs.searchSeries(studyUid(entry.studyInstanceUID), { SeriesInstanceUID: entry.seriesInstanceUID });
  return hit?.numberOfInstances ?? 0;
}

/** What reconciling one pending entry did. */
export type Reconciled =
  /** The series was partial: deleted from the PACS, entry removed. */
  | { readonly outcome: 'rolled-back'; readonly entry: PendingImport; readonly removed: number }
  /** The PACS holds every instance (the upload had finished): entry removed. */
  | { readonly outcome: 'complete'; readonly entry: PendingImport; readonly stored: number }
  /** The PACS holds nothing of it (the rollback had happened): entry removed. */
  | { readonly outcome: 'absent'; readonly entry: PendingImport }
  /** The series existed before the import, so it is not deleted: entry kept until it is imported again. */
  | { readonly outcome: 'needs-import'; readonly entry: PendingImport; readonly stored: number }
  /** Its import is still running (its process is alive): left alone. */
  | { readonly outcome: 'in-progress'; readonly entry: PendingImport }
  /** The PACS did not answer: entry kept. */
  | { readonly outcome: 'unreachable'; readonly entry: PendingImport; readonly error: string };

/**
 * Finishes one interrupted import: a partial series the import created is deleted (rollback),
 * a complete one is kept; a series that existed before is never deleted. PACS errors propagate.
 */
export async function reconcilePendingImport(pacs: PacsClient, entry: PendingImport): Promise<Reconciled> {
  if (entry.pid !== process.pid && isPidAlive(entry.pid)) return { outcome: 'in-progress', entry };
  const stored = await storedInstances(pacs, entry);
  if (stored >= entry.expectedInstances) {
    clearPendingImport(entry);
    return { outcome: 'complete', entry, stored };
  }
  if (entry.seriesExisted) return { outcome: 'needs-import', entry, stored };
  if (stored > 0) await pacs.deleteSeries(seriesUid(entry.seriesInstanceUID));
  clearPendingImport(entry);
  return stored > 0 ? { outcome: 'rolled-back', entry, removed: stored } : { outcome: 'absent', entry };
}

/** Reconciles every pending entry of one PACS (see {@link reconcilePendingImport}); PACS errors propagate. */
export async function reconcilePendingImports(pacs: PacsClient): Promise<Reconciled[]> {
  const out: Reconciled[] = [];
  for (const entry of readPendingImports(pacs.baseUrl)) out.push(await reconcilePendingImport(pacs, entry));
  return out;
}

/**
 * Reconciles every pending entry of every PACS recorded (credentials from the environment); a
 * PACS that does not answer leaves its entries pending ('unreachable').
 */
export async function reconcileAllPendingImports(): Promise<Reconciled[]> {
  const out: Reconciled[] = [];
  const byUrl = new Map<string, PendingImport[]>();
  for (const e of readPendingImports()) byUrl.set(e.pacsUrl, [...(byUrl.get(e.pacsUrl) ?? []), e]);
  for (const [url, entries] of byUrl) {
    const pacs = new PacsClient({ ...pacsConfigFromEnv({ ...process.env, TOMOSORT_PACS_URL: url }), baseUrl: url, retries: 1, timeoutMs: 10_000 });
    for (const entry of entries) {
      try {
        out.push(await reconcilePendingImport(pacs, entry));
      } catch (e) {
        out.push({ outcome: 'unreachable', entry, error: e instanceof Error ? e.message : String(e) });
      }
    }
  }
  return out;
}

/** One line for the user about a reconciled entry. */
export function describeReconciled(r: Reconciled): string {
  const e = r.entry;
  const what = `series ${e.seriesInstanceUID} (import of ${e.source} started ${e.startedAt})`;
  switch (r.outcome) {
    case 'rolled-back':
      return `${what} was left partial: rolled back, removed ${r.removed} of ${e.expectedInstances} instances from ${e.pacsUrl}`;
    case 'complete':
      return `${what} is complete in ${e.pacsUrl} (${r.stored} instances)`;
    case 'absent':
      return `${what}: ${e.pacsUrl} holds none of it; nothing left to roll back`;
    case 'needs-import':
      return `${what} existed in ${e.pacsUrl} before that import and holds ${r.stored} of ${e.expectedInstances} instances: run \`tomosort import ${e.source}\` again to finish it`;
    case 'in-progress':
      return `${what} is still being imported (pid ${e.pid})`;
    case 'unreachable':
      return `${what} may be partly stored in ${e.pacsUrl}, which does not answer (${r.error}); run \`tomosort pacs status\` again when it is back`;
  }
}
