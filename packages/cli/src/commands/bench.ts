import { PacsClient, loadSeriesVolume, seriesUid, studyUid } from '@tomosort/pacs';
import { startOrthanc } from '@tomosort/pacs/local';
import { loadCranium } from '@tomosort/samples';
import { reorient, resampleTo } from '@tomosort/volume';
import type { Command } from '../cli';
import { userPath } from '../env';
import { UsageError } from '../errors';
import { writeFileAtomic } from '../files';
import { prepareImport } from '../importSources';
import { JSON_OPTION, PACS_OPTION, intOption, parse } from '../parse';
import { median, timeRuns } from '../stats';
import { formatTable } from '../table';
import { BENCH_PREPARE_USAGE, benchPrepare } from './benchPrepare';
import { BENCH_PRETRAIN_USAGE, benchPretrain } from './benchPretrain';
import { BENCH_VIEWER_USAGE, benchViewer } from './benchViewer';
import { BENCH_WORKER_USAGE, benchWorker } from './benchWorker';

const USAGE = `usage: pnpm tomosort bench io [--repeats N] [--pacs URL] [--out FILE] [--json]

  io   data path speed on the sample head CT:
         resample: reorient to axial and resample to 128² × 3 mm (median ms)
         load:     read the 108-instance series back from Orthanc into a volume (median s, MB/s)
       Uses --pacs when given, else a throw-away local Orthanc.
  --repeats N   measured runs per figure (default 5)
  --out FILE    also write the JSON there (atomically)
  --json        print the JSON instead of the table`;

async function benchIo(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { repeats: { type: 'string' }, out: { type: 'string' }, ...PACS_OPTION, ...JSON_OPTION }, USAGE, false);
  const repeats = intOption('repeats', values.repeats, 5, 1);
  const cranium = (await loadCranium()).volume;
  const axialTo128 = () => resampleTo(reorient(cranium, 'axial'), { width: 128, height: 128, sliceSpacingMm: 3 });
  const resampleMs = await timeRuns(axialTo128, repeats);
  const axial = reorient(cranium, 'axial');
  const out = axialTo128();

  const local = values.pacs ? undefined : await startOrthanc();
  try {
    const pacs = new PacsClient({ baseUrl: values.pacs ?? local!.url });
    const [series] = await prepareImport('sample:cranium');
    await pacs.uploadInstances(series!.files, { concurrency: 4 });
    const bytes = series!.files.reduce((n, f) => n + f.length, 0);
    const load = () => loadSeriesVolume(pacs, studyUid(series!.studyInstanceUID), seriesUid(series!.seriesInstanceUID));
    const loadMs = await timeRuns(load, repeats);
    const loadSeconds = median(loadMs) / 1000;
    const result = {
      sample: 'sample:cranium',
      resample: {
        from: { dims: axial.dims, spacing: axial.spacing },
        to: { dims: out.dims, spacing: out.spacing },
        medianMs: +median(resampleMs).toFixed(2),
        runsMs: resampleMs.map((x) => +x.toFixed(2)),
      },
      load: {
        instances: series!.files.length,
        bytes,
        medianSeconds: +loadSeconds.toFixed(3),
        mbPerSecond: +(bytes / 1e6 / loadSeconds).toFixed(1),
        runsMs: loadMs.map((x) => +x.toFixed(1)),
        pacs: values.pacs ? 'given' : 'local Orthanc',
      },
    };
    const json = JSON.stringify(result);
    if (values.out) writeFileAtomic(userPath(values.out), `${JSON.stringify(result, null, 2)}\n`);
    if (values.json) process.stdout.write(`${json}\n`);
    else
      process.stdout.write(
        `${formatTable(
          ['figure', 'median', 'detail'],
          [
            ['resample to 128² × 3 mm', `${result.resample.medianMs} ms`, `[${result.resample.from.dims.join('×')}] → [${out.dims.join('×')}]`],
            ['load series from Orthanc', `${result.load.medianSeconds} s`, `${result.load.instances} instances, ${(bytes / 1e6).toFixed(1)} MB, ${result.load.mbPerSecond} MB/s`],
          ],
        )}\n(${repeats} runs each after one warm-up)\n`,
      );
    return 0;
  } finally {
    await local?.stop();
  }
}

export const benchCommand: Command = {
  get usage() {
    return `${USAGE}\n\n${BENCH_PREPARE_USAGE}\n\n${BENCH_PRETRAIN_USAGE}\n\n${BENCH_VIEWER_USAGE}\n\n${BENCH_WORKER_USAGE}`;
  },
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === 'io') return benchIo(rest);
    if (sub === 'prepare') return benchPrepare(rest);
    if (sub === 'pretrain') return benchPretrain(rest);
    if (sub === 'viewer') return benchViewer(rest);
    if (sub === 'worker') return benchWorker(rest);
    throw new UsageError(`unknown bench "${sub ?? ''}"\n\n${USAGE}`);
  },
};
