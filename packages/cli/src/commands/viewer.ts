import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MODE_ROUTE } from '@tomosort/ohif-extension/ids';
import { PARALLEL_MODES } from '@tomosort/ohif-extension/worker/protocol';
import { buildExtensionBundles, startViewerServer } from '@tomosort/viewer';
import type { Command } from '../cli';
import { tomosortHome, userPath } from '../env';
import { CliError } from '../errors';
import { intOption, oneOfOption, PACS_OPTION, parse } from '../parse';
import { connectPacs } from '../pacsConnection';

/** The repository root (the CLI runs from its sources). */
const ROOT = resolve(import.meta.dirname, '..', '..', '..', '..');
/** The OHIF dist served: $TOMOSORT_OHIF_DIST, else the one ./scripts/fetch-ohif.sh puts in .cache. */
export const ohifDist = (): string => (process.env.TOMOSORT_OHIF_DIST ? userPath(process.env.TOMOSORT_OHIF_DIST) : join(ROOT, '.cache', 'ohif', '3.13.2', 'dist'));
/** Where the extension bundles are built (esbuild) for the server. */
export const VIEWER_ASSETS = join(ROOT, '.cache', 'viewer-assets');

const USAGE = `usage: pnpm tomosort viewer [--port P] [--host H[,NAME…]] [--models DIR] [--pacs URL] [--max-upload MB]
                            [--cpu-threads N] [--cpu-parallel threads|replicas]

Serves on 127.0.0.1: the published OHIF viewer 3.13.2 with the "Sparse annotation" mode, the
tomosort extension, the model store (--models: folders written by \`pretrain\`/\`finetune\`,
default $TOMOSORT_HOME/models) and the PACS's DICOMweb through a same-origin proxy that adds
the PACS credentials (from $TOMOSORT_PACS_USER/PASSWORD or $TOMOSORT_PACS_TOKEN) server-side.
Runs until Ctrl-C.

  --port P      default 3000 (0: any free port)
  --host H[,NAME…]  the address to listen on (default 127.0.0.1), then any other Host names
                the server answers to (e.g. the name a reverse proxy forwards under); requests
                for any other Host get 421 (DNS rebinding)
  --models DIR  the model store folder
  --pacs URL    default: $TOMOSORT_PACS_URL, else the Orthanc of \`pnpm tomosort pacs up\`
                (no credentials in it: they come from the environment)
  --max-upload MB  the largest STOW-RS upload (SEG export) forwarded to the PACS, default 512
  --cpu-threads N  CPU threads of the training worker on wasm (default: the workstation's cores − 1,
                at least 1)
  --cpu-parallel P  how they are used: threads (default; tfjs-wasm's pool runs the convolutions)
                or replicas (a 2D fine-tuning and its quality estimate run as data-parallel replicas,
                one per thread up to the batch, every op split; the rest on one thread)

The OHIF dist served is $TOMOSORT_OHIF_DIST when set, else .cache/ohif/3.13.2/dist.

The proxy forwards DICOMweb only (QIDO-RS and WADO-RS reads, STOW-RS to /studies from the
viewer's own pages); the rest of the PACS's API is not reachable through it.`;

export const viewerCommand: Command = {
  usage: USAGE,
  async run(args) {
    const { values } = parse(args, { port: { type: 'string' }, host: { type: 'string' }, models: { type: 'string' }, 'max-upload': { type: 'string' }, 'cpu-threads': { type: 'string' }, 'cpu-parallel': { type: 'string' }, ...PACS_OPTION }, USAGE, false);
    const [host, ...names] = (values.host ?? '127.0.0.1').split(',').map((h) => h.trim()).filter(Boolean);
    // Checked before anything starts: a bad value is a usage error, not a viewer that ignores it.
    const cpu = {
      ...(values['cpu-threads'] === undefined ? {} : { threads: intOption('cpu-threads', values['cpu-threads'], 1, 1) }),
      ...(values['cpu-parallel'] === undefined ? {} : { parallel: oneOfOption('cpu-parallel', values['cpu-parallel'], PARALLEL_MODES, 'threads') }),
    };
    const ohifDir = ohifDist();
    if (!existsSync(join(ohifDir, 'index.html'))) {
      throw new CliError(`the OHIF viewer is not installed at ${ohifDir}: run ./scripts/fetch-ohif.sh (part of ./scripts/setup.sh), or set TOMOSORT_OHIF_DIST to an OHIF 3.13 dist`);
    }
    const pacs = connectPacs(values.pacs);
    await buildExtensionBundles(VIEWER_ASSETS);
    const models = values.models ? userPath(values.models) : join(tomosortHome(), 'models');
    const server = await startViewerServer({
      ohifDir,
      assetsDir: VIEWER_ASSETS,
      modelsDir: models,
      pacs: pacs.proxyTarget(),
      port: intOption('port', values.port, 3000, 0),
      host: host ?? '127.0.0.1',
      allowedHosts: names,
      maxUploadBytes: intOption('max-upload', values['max-upload'], 512, 1) * 1024 * 1024,
      cpu,
      onProxyError: (m) => process.stderr.write(`viewer: ${m}\n`),
    });
    process.stdout.write(`OHIF with tomosort at ${server.url}/  (PACS ${pacs.baseUrl}, models ${models})\n`);
    try {
      const studies = await pacs.searchStudies();
      for (const s of studies.slice(0, 5)) {
        process.stdout.write(`  ${server.url}/${MODE_ROUTE}?StudyInstanceUIDs=${s.studyInstanceUID}  ${s.patientName ?? ''} ${s.studyDescription ?? ''}\n`);
      }
      if (studies.length === 0) process.stdout.write('  the PACS holds no study yet: pnpm tomosort import …\n');
    } catch (e) {
      process.stderr.write(`viewer: could not list the PACS's studies (${e instanceof Error ? e.message : String(e)}); serving anyway\n`);
    }
    await new Promise<void>((done) => {
      const stop = () => done();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    return 0;
  },
};
