import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PacsClient } from '@tomosort/pacs';
import { startOrthanc } from '@tomosort/pacs/local';
import { buildExtensionBundles, startViewerServer } from '@tomosort/viewer';
import { CliError } from '../errors';
import { userPath } from '../env';
import { writeFileAtomic } from '../files';
import { prepareImport } from '../importSources';
import { JSON_OPTION, PACS_OPTION, intOption, oneOfOption, parse } from '../parse';
import { formatTable } from '../table';
import { VIEWER_ASSETS, ohifDist } from './viewer';

export const BENCH_VIEWER_USAGE = `usage: pnpm tomosort bench viewer [--frozen N] [--steps N] [--size S] [--annotate K] [--compute auto|webgpu|wasm] [--no-webgpu] [--pacs URL] [--out FILE] [--json]

  viewer  the radiologist's path in the real OHIF viewer, timed in headless Chromium (Debian's
          /usr/bin/chromium or $TOMOSORT_CHROMIUM; WebGPU on the machine's GPU, else SwiftShader):
          open the sample head CT in the Sparse annotation mode, label K slices by threshold,
          fine-tune from random weights in the Web Worker, predict every other slice.
          Reports the backend, fine-tune steps/s, prediction time and the time from opening
          the study to the first prediction (the scripted annotation takes ~1 s per slice).
  --frozen N    decoder warm-up steps (default 2)
  --steps N     full fine-tuning steps (default 8)
  --size S      input size in pixels (default 32)
  --annotate K  annotated slices (default 3)
  --compute C   the panel's Compute choice (default auto: WebGPU on a real GPU, wasm when the
                only adapter is software, e.g. SwiftShader)
  --no-webgpu   start Chromium without WebGPU: the worker falls back to wasm
  --pacs URL    an Orthanc to use (default: a throw-away local one); the sample CT is imported
  --out FILE    also write the JSON there (atomically)
  --json        print the JSON instead of the table`;

export async function benchViewer(args: readonly string[]): Promise<number> {
  const { values } = parse(
    args,
    { frozen: { type: 'string' }, steps: { type: 'string' }, size: { type: 'string' }, annotate: { type: 'string' }, compute: { type: 'string' }, 'no-webgpu': { type: 'boolean' }, out: { type: 'string' }, ...PACS_OPTION, ...JSON_OPTION },
    BENCH_VIEWER_USAGE,
    false,
  );
  const frozen = intOption('frozen', values.frozen, 2, 0);
  const steps = intOption('steps', values.steps, 8, 1);
  const size = intOption('size', values.size, 32, 8);
  const annotate = intOption('annotate', values.annotate, 3, 1);
  const compute = oneOfOption('compute', values.compute, ['auto', 'webgpu', 'wasm'] as const, 'auto');
  const ohifDir = ohifDist();
  if (!existsSync(join(ohifDir, 'index.html'))) throw new CliError(`the OHIF viewer is not installed at ${ohifDir}: run ./scripts/fetch-ohif.sh`);
  // Test tooling (playwright-core) loads only for this benchmark.
  const { annotateByThreshold, fineTuneAndPredict, launchChromium, openInSparseMode, CHROMIUM } = await import('@tomosort/viewer/testing');
  if (!existsSync(CHROMIUM)) throw new CliError(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set TOMOSORT_CHROMIUM)`);

  const log = (m: string) => values.json || process.stderr.write(`${m}\n`);
  const local = values.pacs ? undefined : await startOrthanc();
  const models = mkdtempSync(join(tmpdir(), 'tomosort-bench-models-'));
  let server: Awaited<ReturnType<typeof startViewerServer>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    const pacs = new PacsClient({ baseUrl: values.pacs ?? local!.url });
    const [ct] = await prepareImport('sample:cranium');
    await pacs.uploadInstances(ct!.files, { concurrency: 4 });
    await buildExtensionBundles(VIEWER_ASSETS);
    server = await startViewerServer({ ohifDir, assetsDir: VIEWER_ASSETS, modelsDir: models, pacs: pacs.proxyTarget(), port: 0 });
    browser = await launchChromium({ webgpu: !values['no-webgpu'] });
    const page = await browser.context.newPage();
    log(`opening the sample CT in ${server.url} …`);
    const t0 = Date.now();
    const opened = await openInSparseMode(page, server.url, ct!.studyInstanceUID, ct!.files.length, compute);
    log(`worker on ${opened.backend}; annotating ${annotate} slice(s) …`);
    await annotateByThreshold(page, annotate);
    const annotatedMs = Date.now() - t0;
    await page.getByTestId('tomosort-size').fill(String(size));
    log(`fine-tuning ${frozen} + ${steps} steps at ${size}² …`);
    const tuned = await fineTuneAndPredict(page, frozen, steps, 3_600_000);
    const firstPredictionMs = Date.now() - t0;
    const userAgent = String(await page.evaluate('navigator.userAgent'));
    const result = {
      compute,
      browser: /Chrome\/[\d.]+/.exec(userAgent)?.[0] ?? userAgent,
      backend: opened.backend,
      webgpu: opened.webgpu,
      series: { instances: ct!.files.length, sample: 'sample:cranium' },
      size,
      batch: 4,
      annotatedSlices: annotate,
      frozenSteps: frozen,
      steps: tuned.steps,
      trainSeconds: tuned.trainSeconds,
      stepsPerSecond: tuned.stepsPerSecond,
      predictedSlices: tuned.predictedSlices,
      predictSeconds: tuned.predictSeconds,
      seconds: {
        seriesShown: +(opened.seriesMs / 1000).toFixed(1),
        workerReady: +(opened.workerMs / 1000).toFixed(1),
        annotated: +(annotatedMs / 1000).toFixed(1),
        firstPrediction: +(firstPredictionMs / 1000).toFixed(1),
      },
    };
    if (values.out) writeFileAtomic(userPath(values.out), `${JSON.stringify(result, null, 2)}\n`);
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else
      process.stdout.write(
        `${formatTable(
          ['figure', 'value', 'detail'],
          [
            ['backend (worker)', result.backend, `compute ${compute}; ${result.webgpu}`],
            ['series shown', `${result.seconds.seriesShown} s`, `from opening the study; ${result.series.instances} instances`],
            ['worker ready', `${result.seconds.workerReady} s`, 'from opening the study'],
            ['annotated', `${result.seconds.annotated} s`, `${annotate} slices by threshold (scripted; includes loading the slices scrolled through)`],
            ['fine-tune', `${result.stepsPerSecond} steps/s`, `${result.steps} steps in ${result.trainSeconds} s, ${size}², batch 4, small encoder + U-Net`],
            ['predict', `${result.predictSeconds} s`, `${result.predictedSlices} slices`],
            ['open → first prediction', `${result.seconds.firstPrediction} s`, result.browser],
          ],
        )}\n`,
      );
    return 0;
  } finally {
    await browser?.close();
    await server?.close();
    await local?.stop();
    rmSync(models, { recursive: true, force: true });
  }
}
