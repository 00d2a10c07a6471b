import { seriesUid } from '@tomosort/pacs';
import type { PacsClient } from '@tomosort/pacs';
import type { Command } from '../cli';
import { CliError, UsageError } from '../errors';
import { prepareImport } from '../importSources';
import type { PreparedSeries } from '../importSources';
import { JSON_OPTION, PACS_OPTION, intOption, parse } from '../parse';
import { connectPacs } from '../pacsConnection';
import { clearPendingImport, describeReconciled, reconcilePendingImport, reconcilePendingImports, recordPendingImport, storedInstances } from '../pendingImports';
import type { PendingImport } from '../pendingImports';
import { progressBar } from '../progress';

const USAGE = `usage: pnpm tomosort import <source> [options]

  source   a DICOM folder or file, file.nii / file.nii.gz (file.nii.gz#t=N: volume N of a 4D file), file.inv3,
           sample:cranium (the Debian invesalius-examples head CT), sample:colin27 or
           sample:colin27:better (the Debian mricron-data brain MR at 1 or 0.5 mm; one study
           and frame of reference), or sample:phantom
  --subjects N   phantom subjects (default 4)
  --seed S       phantom seed (default 0)
  --concurrency C  parallel uploads (default 4)
  --pacs URL     PACS root (default $TOMOSORT_PACS_URL or the local one)
  --json         print [{"studyInstanceUID","seriesInstanceUID","instances"}]

Every series is validated before anything is sent; a series that fails validation or upload
leaves nothing behind in the PACS. Each upload is recorded in $TOMOSORT_HOME/pending-imports
until the PACS holds every instance; if a failed upload cannot be rolled back (the PACS is
down), the error says what may be left, \`ls\` marks the series incomplete, and the next
import (or \`tomosort pacs status\`) finishes the rollback.`;

/**
 * Uploads one series and checks that the PACS holds all of it. A pending-import entry is written
 * (durably) before the first instance is sent and removed once the series is complete, or once a
 * failed upload is rolled back; when the rollback cannot be done (the PACS is down) the entry
 * stays, the error says what may be left, and the next `import` or `pacs status` finishes it.
 */
async function uploadSeries(pacs: PacsClient, s: PreparedSeries, source: string, concurrency: number, onDone: () => void): Promise<void> {
  const uid = seriesUid(s.seriesInstanceUID);
  const expected = s.files.length;
  const existed = (await pacs.orthancSeriesId(uid)) !== undefined;
  const entry: PendingImport = {
    pacsUrl: pacs.baseUrl,
    studyInstanceUID: s.studyInstanceUID,
    seriesInstanceUID: s.seriesInstanceUID,
    expectedInstances: expected,
    source,
    startedAt: new Date().toISOString(),
    seriesExisted: existed,
    pid: process.pid,
  };
  recordPendingImport(entry);
  let sent = 0;
  try {
    await pacs.uploadInstances(s.files, { concurrency, onProgress: () => (sent++, onDone()) });
    const stored = await storedInstances(pacs, entry);
    if (stored < expected || (!existed && stored !== expected)) {
      throw new CliError(`series ${uid}: ${pacs.baseUrl} holds ${stored} instances after ${expected} were uploaded`);
    }
  } catch (e) {
    const error = await afterFailedUpload(pacs, entry, sent, e);
    if (error !== undefined) throw error;
    return; // every instance arrived after all (an answer was lost, not an upload)
  }
  clearPendingImport(entry);
}

/**
 * After a failed upload: rolls back a series this import created (or, for one that existed,
 * checks it still holds as much as was sent) and clears the entry; returns the error to throw,
 * which says plainly what may be left in the PACS when that could not be done, or undefined
 * when the PACS holds the whole series after all.
 */
async function afterFailedUpload(pacs: PacsClient, entry: PendingImport, sent: number, cause: unknown): Promise<unknown> {
  const why = cause instanceof Error ? cause.message : String(cause);
  const series = `series ${entry.seriesInstanceUID}`;
  try {
    const r = await reconcilePendingImport(pacs, entry);
    if (r.outcome === 'complete') return !entry.seriesExisted && r.stored === entry.expectedInstances ? undefined : cause;
    if (r.outcome !== 'needs-import') return cause;
    return new CliError(
      `${why}; ${series} existed in ${entry.pacsUrl} before this import and now holds ${r.stored} of its ${entry.expectedInstances} instances: run \`tomosort import ${entry.source}\` again to finish it`,
      1,
      { cause },
    );
  } catch {
    return new CliError(
      `${why}; ${series}: ${sent} of ${entry.expectedInstances} instances may be stored in ${entry.pacsUrl}; run \`tomosort pacs status\` (or the next import) to finish the rollback`,
      1,
      { cause },
    );
  }
}

/** Finishes the imports into this PACS that an earlier run left pending, saying what it did. */
async function finishPendingImports(pacs: PacsClient, say: (line: string) => void): Promise<void> {
  for (const r of await reconcilePendingImports(pacs)) say(`earlier import: ${describeReconciled(r)}`);
}

export const importCommand: Command = {
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parse(
      args,
      { subjects: { type: 'string' }, seed: { type: 'string' }, concurrency: { type: 'string' }, ...PACS_OPTION, ...JSON_OPTION },
      USAGE,
    );
    if (positionals.length !== 1) throw new UsageError(`import takes one source, got ${positionals.length}\n\n${USAGE}`);
    const spec = positionals[0]!;
    const pacs = connectPacs(values.pacs);
    const warn = (w: string) => process.stderr.write(`warning: ${w}\n`);
    await finishPendingImports(pacs, (line) => process.stderr.write(`${line}\n`));
    const series = await prepareImport(spec, {
      subjects: intOption('subjects', values.subjects, 4, 1),
      seed: intOption('seed', values.seed, 0),
      warn,
    });
    const total = series.reduce((n, s) => n + s.files.length, 0);
    const bar = progressBar(`import ${spec}`, !values.json && Boolean(process.stderr.isTTY));
    const concurrency = intOption('concurrency', values.concurrency, 4, 1);
    let done = 0;
    const t0 = performance.now();
    for (const s of series) await uploadSeries(pacs, s, spec, concurrency, () => bar.update(++done, total));
    const seconds = (performance.now() - t0) / 1000;
    bar.done(`${total} instances in ${seconds.toFixed(1)} s`);
    const result = series.map((s) => ({
      studyInstanceUID: s.studyInstanceUID,
      seriesInstanceUID: s.seriesInstanceUID,
      instances: s.files.length,
    }));
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else for (const r of result) process.stdout.write(`imported ${r.instances} instances: series ${r.seriesInstanceUID} (study ${r.studyInstanceUID})\n`);
    return 0;
  },
};
