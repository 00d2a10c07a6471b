import { seriesUid } from '@tomosort/pacs';
import type { PacsClient } from '@tomosort/pacs';
import type { Command } from '../cli';
import { UsageError } from '../errors';
import { prepareImport } from '../importSources';
import type { PreparedSeries } from '../importSources';
import { JSON_OPTION, PACS_OPTION, intOption, parse } from '../parse';
import { connectPacs } from '../pacsConnection';
import { progressBar } from '../progress';

const USAGE = `usage: pnpm tomosort import <source> [options]

  source   a DICOM folder or file, file.nii / file.nii.gz (file.nii.gz#t=N: volume N of a 4D file), file.inv3,
           sample:cranium (the Debian invesalius-examples head CT), or sample:phantom
  --subjects N   phantom subjects (default 4)
  --seed S       phantom seed (default 0)
  --concurrency C  parallel uploads (default 4)
  --pacs URL     PACS root (default $TOMOSORT_PACS_URL or the local one)
  --json         print [{"studyInstanceUID","seriesInstanceUID","instances"}]

Every series is validated before anything is sent; a series that fails validation or upload
leaves nothing behind in the PACS.`;

/**
 * Uploads one series; on failure (after the uploads in flight have settled) removes the series
 * if this import created it, then rethrows.
 */
async function uploadSeries(pacs: PacsClient, s: PreparedSeries, concurrency: number, onDone: () => void): Promise<void> {
  const uid = seriesUid(s.seriesInstanceUID);
  const existed = (await pacs.orthancSeriesId(uid)) !== undefined;
  try {
    await pacs.uploadInstances(s.files, { concurrency, onProgress: onDone });
  } catch (e) {
    if (!existed) await pacs.deleteSeries(uid).catch(() => false);
    throw e;
  }
}

export const importCommand: Command = {
  summary: 'validate and upload DICOM, NIfTI, .inv3 or a sample to the PACS',
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
    for (const s of series) await uploadSeries(pacs, s, concurrency, () => bar.update(++done, total));
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
