import type { Command } from '../cli';
import { JSON_OPTION, PACS_OPTION, parse } from '../parse';
import { connectPacs } from '../pacsConnection';
import { readPendingImports } from '../pendingImports';
import { formatTable } from '../table';

const USAGE = `usage: pnpm tomosort ls [--pacs URL] [--json]

Lists every series in the PACS. A series whose import did not finish (it may hold only part of
its instances: see \`tomosort pacs status\`) is marked incomplete. --json prints
[{"studyInstanceUID","seriesInstanceUID","modality","description","instances","incomplete"}],
with "expectedInstances" on incomplete series.`;

interface Row {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly modality: string;
  readonly description: string;
  readonly instances: number;
  /** An import of this series into this PACS is pending (unfinished, or not rolled back). */
  readonly incomplete: boolean;
  /** How many instances that import was sending (on incomplete series only). */
  readonly expectedInstances?: number;
}

export const lsCommand: Command = {
  usage: USAGE,
  async run(args) {
    const { values } = parse(args, { ...PACS_OPTION, ...JSON_OPTION }, USAGE, false);
    const pacs = connectPacs(values.pacs);
    const pending = new Map(readPendingImports(pacs.baseUrl).map((e) => [e.seriesInstanceUID, e]));
    const studies = await pacs.searchStudies();
    const rows: Row[] = [];
    for (const study of studies) {
      for (const s of await pacs.searchSeries(study.studyInstanceUID)) {
        const entry = pending.get(s.seriesInstanceUID);
        rows.push({
          studyInstanceUID: study.studyInstanceUID,
          seriesInstanceUID: s.seriesInstanceUID,
          modality: s.modality ?? '',
          description: s.seriesDescription ?? '',
          instances: s.numberOfInstances ?? 0,
          incomplete: entry !== undefined,
          ...(entry ? { expectedInstances: entry.expectedInstances } : {}),
        });
      }
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(rows)}\n`);
    } else if (rows.length === 0) {
      process.stdout.write('the PACS holds no series\n');
    } else {
      const count = (r: Row) => (r.incomplete ? `${r.instances} of ${r.expectedInstances} INCOMPLETE` : r.instances);
      process.stdout.write(
        `${formatTable(
          ['study', 'series', 'modality', 'instances', 'description'],
          rows.map((r) => [r.studyInstanceUID, r.seriesInstanceUID, r.modality, count(r), r.description]),
        )}\n`,
      );
      if (rows.some((r) => r.incomplete)) {
        process.stdout.write('INCOMPLETE: an import of the series did not finish; run `tomosort pacs status` (or the next import) to roll it back or finish it\n');
      }
    }
    return 0;
  },
};
