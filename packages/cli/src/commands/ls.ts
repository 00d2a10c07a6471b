import type { Command } from '../cli';
import { JSON_OPTION, PACS_OPTION, parse } from '../parse';
import { connectPacs } from '../pacsConnection';
import { formatTable } from '../table';

const USAGE = `usage: pnpm tomosort ls [--pacs URL] [--json]

Lists every series in the PACS. --json prints
[{"studyInstanceUID","seriesInstanceUID","modality","description","instances"}]`;

export const lsCommand: Command = {
  summary: 'list the studies and series in the PACS',
  usage: USAGE,
  async run(args) {
    const { values } = parse(args, { ...PACS_OPTION, ...JSON_OPTION }, USAGE, false);
    const pacs = connectPacs(values.pacs);
    const studies = await pacs.searchStudies();
    const rows: { studyInstanceUID: string; seriesInstanceUID: string; modality: string; description: string; instances: number }[] = [];
    for (const study of studies) {
      for (const s of await pacs.searchSeries(study.studyInstanceUID)) {
        rows.push({
          studyInstanceUID: study.studyInstanceUID,
          seriesInstanceUID: s.seriesInstanceUID,
          modality: s.modality ?? '',
          description: s.seriesDescription ?? '',
          instances: s.numberOfInstances ?? 0,
        });
      }
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(rows)}\n`);
    } else if (rows.length === 0) {
      process.stdout.write('the PACS holds no series\n');
    } else {
      process.stdout.write(
        `${formatTable(
          ['study', 'series', 'modality', 'instances', 'description'],
          rows.map((r) => [r.studyInstanceUID, r.seriesInstanceUID, r.modality, r.instances, r.description]),
        )}\n`,
      );
    }
    return 0;
  },
};
