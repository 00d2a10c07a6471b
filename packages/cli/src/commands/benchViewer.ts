import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSegmentation } from '@tomosort/dicom';
import { diceScore } from '@tomosort/losses';
import { PacsClient, fetchSeriesFiles, loadSeriesVolume, seriesUid, studyUid } from '@tomosort/pacs';
import { DEFAULT_QUALITY_FOLDS } from '@tomosort/ohif-extension/worker/protocol';
import { startOrthanc } from '@tomosort/pacs/local';
import { buildExtensionBundles, startViewerServer } from '@tomosort/viewer';
import { CliError } from '../errors';
import { userPath } from '../env';
import { writeFileAtomic } from '../files';
import { prepareImport } from '../importSources';
import { JSON_OPTION, PACS_OPTION, intOption, oneOfOption, parse } from '../parse';
import { formatTable } from '../table';
import { loadSeriesSpec } from '../seriesSource';
import { VIEWER_ASSETS, ohifDist } from './viewer';

export const BENCH_VIEWER_USAGE = `usage: pnpm tomosort bench viewer [--frozen N] [--steps N] [--size S] [--annotate K] [--quality-folds F] [--compute auto|webgpu|wasm] [--no-webgpu] [--pacs URL] [--out FILE] [--json]

  viewer  the radiologist's path in the real OHIF viewer, timed in headless Chromium (Debian's
          /usr/bin/chromium or $TOMOSORT_CHROMIUM; WebGPU on the machine's GPU, else SwiftShader):
          open the sample head CT in the Sparse annotation mode, label K slices by threshold,
          fine-tune from random weights in the Web Worker, predict every other slice.
          Reports the backend, fine-tune steps/s, a full step's ms and GFLOP/s (on WebGPU
          also dispatches and readbacks a step and the peak GPU memory: the panel's compute
          line), prediction time, the time from opening
          the study to the first prediction (the scripted annotation takes ~1 s per slice),
          the panel's quality estimate, and the prediction's Dice against the sample's own head
          mask (−142..2986 HU, which the panel's default threshold −200..3000 draws) on every
          predicted slice: all predictions are accepted and exported, and the SEG read back
          from the PACS.
  --frozen N    decoder warm-up steps (default 10, the panel's)
  --steps N     full fine-tuning steps (default 20, the panel's)
  --size S      input size in pixels (default 128, the panel's)
  --annotate K  annotated slices (default 3)
  --quality-folds F  the panel's quality estimate folds (default 5, the panel's; 0 = none)
  --compute C   the panel's Compute choice (default auto: WebGPU on a real GPU, wasm when the
                only adapter is software, e.g. SwiftShader)
  --no-webgpu   start Chromium without WebGPU: the worker falls back to wasm
  --pacs URL    an Orthanc to use (default: a throw-away local one); the sample CT is imported
  --out FILE    also write the JSON there (atomically)
  --json        print the JSON instead of the table`;

/**
 * Dice of a SEG's label 1 against the sample head CT's own head mask (head ∪ bone) on the SEG's
 * slices that were not annotated: the prediction as stored in the PACS, on the CT's grid.
 */
async function predictionDice(pacs: PacsClient, study: string, segUid: string, annotated: ReadonlySet<string>): Promise<{ dice: number; slices: number }> {
  const series = await pacs.searchSeries(studyUid(study));
  const ct = series.find((x) => x.modality === 'CT');
  if (!ct) throw new CliError(`study ${study} has no CT series`);
  const source = await loadSeriesVolume(pacs, studyUid(study), ct.seriesInstanceUID);
  const [segFile] = await fetchSeriesFiles(pacs, studyUid(study), seriesUid(segUid));
  const seg = readSegmentation(segFile!, source);
  const sample = await loadSeriesSpec('sample:cranium', { pacs: () => pacs, seed: 0 });
  const truth = sample.sampleLabels!.labels;
  if (truth.dims.some((d, a) => d !== seg.labelmap.dims[a])) throw new CliError(`the sample's mask is [${truth.dims.join(', ')}], the CT in the PACS [${seg.labelmap.dims.join(', ')}]`);
  const plane = truth.dims[0] * truth.dims[1];
  const mask = new Uint8Array(truth.data.length);
  const slices = seg.slices.filter((k) => !annotated.has(source.sopInstanceUIDs[k]!));
  if (slices.length === seg.slices.length) throw new CliError('none of the annotated slices is in the exported SEG: the panel lists them by SOP instance (data-sop)');
  for (const k of slices) mask.fill(1, k * plane, (k + 1) * plane);
  const pred = Uint8Array.from(seg.labelmap.data, (v) => (v === 1 ? 1 : 0));
  const head = Uint8Array.from(truth.data, (v) => (v !== 0 ? 1 : 0));
  return { dice: +diceScore(pred, head, 1, mask).toFixed(4), slices: slices.length };
}

export async function benchViewer(args: readonly string[]): Promise<number> {
  const { values } = parse(
    args,
    { frozen: { type: 'string' }, steps: { type: 'string' }, size: { type: 'string' }, annotate: { type: 'string' }, 'quality-folds': { type: 'string' }, compute: { type: 'string' }, 'no-webgpu': { type: 'boolean' }, out: { type: 'string' }, ...PACS_OPTION, ...JSON_OPTION },
    BENCH_VIEWER_USAGE,
    false,
  );
  const frozen = intOption('frozen', values.frozen, 10, 0);
  const steps = intOption('steps', values.steps, 20, 1);
  const size = intOption('size', values.size, 128, 8);
  const annotate = intOption('annotate', values.annotate, 3, 1);
  const qualityFolds = intOption('quality-folds', values['quality-folds'], DEFAULT_QUALITY_FOLDS, 0);
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
    await page.getByTestId('tomosort-quality-folds').fill(String(qualityFolds));
    log(`fine-tuning ${frozen} + ${steps} steps at ${size}² …`);
    const tuned = await fineTuneAndPredict(page, frozen, steps, 3_600_000);
    const firstPredictionMs = Date.now() - t0;
    const quality = qualityFolds >= 2 ? await page.getByTestId('tomosort-quality').textContent() : null;
    // Accept every prediction, export, and read the SEG back from the PACS: what a radiologist would store.
    const annotatedSops = await page.locator('[data-sop]').evaluateAll((els) => els.map((e) => e.getAttribute('data-sop')!));
    await page.getByTestId('tomosort-accept-all').click();
    await page.getByTestId('tomosort-export').click();
    const segUid = (await page.getByTestId('tomosort-exported').textContent({ timeout: 300_000 }))!.replace('SEG series ', '').trim();
    const dice = await predictionDice(pacs, ct!.studyInstanceUID, segUid, new Set(annotatedSops));
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
      msPerStep: tuned.compute.msPerStep,
      gflopPerStep: +tuned.compute.gflopPerStep.toFixed(4),
      gflops: tuned.compute.msPerStep === null ? null : +(tuned.compute.gflopPerStep / (tuned.compute.msPerStep / 1000)).toFixed(2),
      ...(tuned.compute.webgpu ? { dispatchesPerStep: +tuned.compute.webgpu.dispatchesPerStep.toFixed(1), readbacksPerStep: +tuned.compute.webgpu.readbacksPerStep.toFixed(3), peakGpuBytes: tuned.compute.webgpu.peakGpuBytes } : {}),
      predictedSlices: tuned.predictedSlices,
      predictSeconds: tuned.predictSeconds,
      qualityFolds,
      quality,
      dice,
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
            ['full step', result.msPerStep === null ? 'none ran' : `${result.msPerStep.toFixed(0)} ms`, `median of the full steps (the warm-up's are cheaper); ${result.gflops ?? '–'} GFLOP/s at ${result.gflopPerStep} GFLOP a step (3 × forward)`],
            ...(result.dispatchesPerStep === undefined
              ? []
              : [
                  ['GPU dispatches', `${result.dispatchesPerStep} a step`, `${result.readbacksPerStep} GPU readbacks a step, averaged over the fine-tuning`],
                  ['peak GPU memory', `${((result.peakGpuBytes ?? 0) / 1e6).toFixed(0)} MB`, "the webgpu backend's buffers during the fine-tuning"],
                ]),
            ['predict', `${result.predictSeconds} s`, `${result.predictedSlices} slices`],
            ['quality estimate', quality ?? 'none', `${qualityFolds} folds`],
            ['Dice vs the sample mask', dice.dice.toFixed(3), `${dice.slices} predicted slices (annotated ones left out), head mask −142..2986 HU`],
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
