// Test and benchmark tooling (Node): runs the viewer's training worker in a Chromium page.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildExtensionBundles } from '../bundle';
import { startViewerServer } from '../server';
import { launchChromium } from './browser';
import { measureParallelCeilings, type ParallelCeilings } from './parallelCeilings';
import { ASSETS_PATH } from '@tomosort/ohif-extension/ids';
import type { BenchmarkJob, Compute, FromWorker, Parallel } from '@tomosort/ohif-extension/worker/protocol';

export interface WorkerBenchmark {
  /** The worker's backend line, e.g. "wasm (SIMD, 2 threads)", and its thread count. */
  readonly backend: string;
  readonly threads: number | undefined;
  /** The backend line of the benchmark run itself: with "× N replicas" for the replicas it ran on (no more than its batch). */
  readonly ranOn: string;
  /** Data-parallel replicas the worker can run a 2D fine-tuning on (with parallel 'replicas'). */
  readonly replicas: number | undefined;
  /** On replicas: each one's wait for the others at sums, ms a step (rank 0 first). */
  readonly replicaWaitMsPerStep?: readonly number[];
  /** The page was cross-origin isolated (threaded wasm needs it), and its navigator.hardwareConcurrency. */
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency: number;
  readonly losses: readonly number[];
  readonly msPerStep: readonly number[];
  readonly profile?: Extract<FromWorker, { type: 'benchmarked' }>['profile'];
  /** On WebGPU: the dispatches, GPU readbacks and peak GPU bytes the worker counted. */
  readonly webgpu?: Extract<FromWorker, { type: 'benchmarked' }>['webgpu'];
  /** The run was cancelled (`cancelAtStep`), and the time from posting the cancel to the worker's result. */
  readonly cancelled: boolean;
  readonly cancelMs: number | null;
  /** The job id its result carried, and with `intrude`: what the worker answered the second job and the other id's cancel. */
  readonly jobId: number | undefined;
  readonly intruded?: { readonly refused: FromWorker | null; readonly stillRunning: boolean };
}

export interface BenchmarkOptions {
  readonly compute: Compute;
  readonly threads?: number;
  /** How wasm uses the threads (the worker's default: 'threads'). */
  readonly parallel?: Parallel;
  readonly job: BenchmarkJob;
  readonly timeoutMs?: number;
  /** Post a cancel as soon as the worker reports this step (as the panel's Cancel does), with the job's id. */
  readonly cancelAtStep?: number;
  /**
   * The job goes as id 1; at its first step a second job (id 2) and a cancel of another id (99)
   * are posted: one job at a time, and a cancel stops only the job it names.
   */
  readonly intrude?: boolean;
}

/**
 * Runs in the page: starts the worker, waits for 'ready', runs the benchmark job. Plain JavaScript
 * in a string, because a compiled function would carry the TypeScript loader's helpers (tsx adds
 * `__name` calls) that the page does not have.
 */
const IN_PAGE = `async ({ url, compute, threads, parallel, job, timeoutMs, cancelAtStep, intrude }) => {
  const worker = new Worker(url, { type: 'module' });
  let cancelledAt = null;
  let intruded = null;
  const next = (want) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker sent no ' + want + ' within ' + timeoutMs + ' ms')), timeoutMs);
    worker.onmessage = (e) => {
      if (intrude && e.data.jobId === 2) intruded.refused = e.data;
      if (intrude && e.data.type === 'progress' && e.data.jobId === 1) {
        if (intruded === null) {
          intruded = { refused: null, stillRunning: false, at: e.data.step };
          worker.postMessage({ type: 'benchmark', job, id: 2 });
          worker.postMessage({ type: 'cancel', id: 99 });
        } else if (e.data.step > intruded.at + 1) intruded.stillRunning = true;
      }
      if (e.data.type === 'progress' && cancelAtStep !== null && cancelledAt === null && e.data.step >= cancelAtStep && (!intrude || intruded.stillRunning)) {
        cancelledAt = performance.now();
        worker.postMessage(intrude ? { type: 'cancel', id: 1 } : { type: 'cancel' });
      }
      if ((e.data.type === want || e.data.type === 'error') && e.data.jobId !== 2) { clearTimeout(timer); resolve(e.data); }
    };
    worker.onerror = (e) => { clearTimeout(timer); reject(new Error('the worker failed: ' + e.message)); };
  });
  try {
    const readyP = next('ready');
    worker.postMessage({ type: 'start', compute, ...(threads === null ? {} : { threads }), ...(parallel === null ? {} : { parallel }) });
    const ready = await readyP;
    if (ready.type === 'error') throw new Error(ready.message);
    const doneP = next('benchmarked');
    worker.postMessage(intrude ? { type: 'benchmark', job, id: 1 } : { type: 'benchmark', job });
    const done = await doneP;
    if (done.type === 'error') throw new Error(done.message);
    const cancelMs = cancelledAt === null ? null : performance.now() - cancelledAt;
    return { ready, done, cancelMs, intruded, crossOriginIsolated: self.crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency };
  } finally {
    worker.terminate();
  }
}`;

/**
 * Opens a page of the viewer server (so it is cross-origin isolated like the viewer), starts the
 * training worker with `compute` and `threads`, and runs its benchmark job: a fixed fine-tuning on
 * a synthetic phantom. A fresh page per call, because tfjs fixes the thread count when its wasm
 * backend starts.
 */
export async function benchmarkWorker(
  page: Page,
  serverUrl: string,
  options: BenchmarkOptions,
): Promise<WorkerBenchmark> {
  // Any page of the server carries its COOP/COEP headers; the worker bundle itself is the lightest.
  await page.goto(`${serverUrl}${ASSETS_PATH}/worker.mjs`);
  const args = { url: `${serverUrl}${ASSETS_PATH}/worker.mjs`, compute: options.compute, threads: options.threads ?? null, parallel: options.parallel ?? null, job: options.job, timeoutMs: options.timeoutMs ?? 600_000, cancelAtStep: options.cancelAtStep ?? null, intrude: options.intrude ?? false };
  const r = (await page.evaluate(`(${IN_PAGE})(${JSON.stringify(args)})`)) as {
    ready: Extract<FromWorker, { type: 'ready' }>;
    done: Extract<FromWorker, { type: 'benchmarked' }>;
    cancelMs: number | null;
    intruded: { refused: FromWorker | null; stillRunning: boolean } | null;
    crossOriginIsolated: boolean;
    hardwareConcurrency: number;
  };
  return { backend: r.ready.backend, ranOn: r.done.backend, threads: r.ready.threads, replicas: r.ready.replicas, crossOriginIsolated: r.crossOriginIsolated, hardwareConcurrency: r.hardwareConcurrency, losses: r.done.losses, msPerStep: r.done.msPerStep, ...(r.done.replicaWaitMsPerStep ? { replicaWaitMsPerStep: r.done.replicaWaitMsPerStep } : {}), cancelled: r.done.cancelled, cancelMs: r.cancelMs, jobId: r.done.jobId, ...(r.intruded ? { intruded: { refused: r.intruded.refused, stillRunning: r.intruded.stillRunning } } : {}), ...(r.done.profile ? { profile: r.done.profile } : {}), ...(r.done.webgpu ? { webgpu: r.done.webgpu } : {}) };
}

/** A viewer server (no OHIF, no PACS behind it) and a Chromium to run the worker's benchmark job in. */
export interface WorkerHost {
  /** One benchmark in a fresh page (a fresh worker, so a new thread count takes effect). */
  benchmark(options: BenchmarkOptions): Promise<WorkerBenchmark>;
  /** How far `workers` Web Workers at once scale on this machine (arithmetic, cache, memory): see measureParallelCeilings. */
  ceilings(workers: number, rounds?: number): Promise<ParallelCeilings>;
  readonly userAgent: () => Promise<string>;
  close(): Promise<void>;
}

/**
 * Builds the worker bundle, serves it like the viewer does (cross-origin isolated) and starts
 * Chromium; `webgpu: false` starts it without WebGPU.
 */
export async function startWorkerHost(options: { readonly webgpu?: boolean } = {}): Promise<WorkerHost> {
  const scratch = mkdtempSync(join(tmpdir(), 'tomosort-worker-host-'));
  mkdirSync(join(scratch, 'ohif'));
  // The worker needs no OHIF; the server wants a viewer folder to serve.
  writeFileSync(join(scratch, 'ohif', 'index.html'), '<!doctype html><title>tomosort worker host</title>');
  let server: Awaited<ReturnType<typeof startViewerServer>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    await buildExtensionBundles(join(scratch, 'assets'));
    // No PACS request is made: the benchmark job trains on a synthetic phantom.
    server = await startViewerServer({ ohifDir: join(scratch, 'ohif'), assetsDir: join(scratch, 'assets'), pacs: { dicomWebUrl: 'http://127.0.0.1:9/dicom-web' }, port: 0 });
    browser = await launchChromium({ webgpu: options.webgpu !== false });
  } catch (e) {
    await server?.close();
    rmSync(scratch, { recursive: true, force: true });
    throw e;
  }
  const url = server.url;
  const chromium = browser;
  const host = server;
  return {
    async benchmark(o) {
      const page = await chromium.context.newPage();
      try {
        return await benchmarkWorker(page, url, o);
      } finally {
        await page.close();
      }
    },
    async ceilings(workers, rounds) {
      const page = await chromium.context.newPage();
      try {
        // Any page of the server is cross-origin isolated, as the probe's start flag needs.
        await page.goto(`${url}${ASSETS_PATH}/worker.mjs`);
        return await measureParallelCeilings(page, workers, rounds);
      } finally {
        await page.close();
      }
    },
    async userAgent() {
      const page = await chromium.context.newPage();
      try {
        return String(await page.evaluate('navigator.userAgent'));
      } finally {
        await page.close();
      }
    },
    async close() {
      await chromium.close();
      await host.close();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
