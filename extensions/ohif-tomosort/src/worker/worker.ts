import * as tf from '@tensorflow/tfjs-core';
import { initBestBackend } from '@tomosort/backend';
import { saveModel } from '@tomosort/models';
import { PacsClient } from '@tomosort/pacs';
import { ASSETS_PATH, DICOMWEB_PATH, ITK_PIPELINES_PATH } from '../ids';
import { browserInterpolate } from './interpolation';
import { runBenchmark, runExport, runFinetune, runListSegs, runLoadSeg, runMatch, runPretrain, runScore } from './jobs';
import type { SaveModel } from './jobs';
import { plainError } from './plainError';
import type { FromWorker, ToWorker } from './protocol';
import { HostError } from '../errors';
import { replicasLabel } from './replicaPool';
import type { ReplicaSettings } from './replicaPool';
import { REPLICA_BUNDLE } from './replicaProtocol';

/**
 * The training worker: everything heavy runs here, off the viewer's thread. It reads the series
 * through the same-origin DICOMweb proxy and writes the SEG back the same way: pixel data never
 * leave the workstation except to the PACS they came from.
 */
const scope = self as unknown as { postMessage(m: unknown, transfer?: Transferable[]): void; onmessage: ((e: MessageEvent) => void) | null };
const origin = self.location.origin;
const pacs = new PacsClient({ baseUrl: origin, dicomWebRoot: DICOMWEB_PATH.slice(1) });
const interpolate = browserInterpolate(`${origin}${ITK_PIPELINES_PATH}`);
let running: AbortController | undefined;
/** The job running now (one at a time), by its message type and the panel's id. */
let current: { readonly type: string; readonly id: number | undefined } | undefined;
/** The compute backend's line (without replicas: a job adds the replicas it ran on). */
let backend = '';
/** Data-parallel fine-tuning, when started with `parallel: 'replicas'` on wasm. */
let replicas: ReplicaSettings | undefined;

/**
 * wasm threads: one core is left to the viewer's own thread (rendering, the panel), at least one
 * thread. tfjs runs them only where the page is cross-origin isolated (the viewer server sends
 * COOP/COEP); elsewhere it starts single-threaded whatever is asked.
 */
function defaultWasmThreads(hardwareConcurrency: number | undefined): number {
  return Math.max(1, (hardwareConcurrency ?? 1) - 1);
}

function post(m: FromWorker): void {
  const transfer = m.type === 'predicted' || m.type === 'segLoaded' ? m.slices.map((s) => s.labels.buffer as ArrayBuffer) : [];
  scope.postMessage(m, transfer);
}

/** Models pre-trained here live in this browser's IndexedDB (they never leave the workstation). */
const saveToIndexedDb: SaveModel = async (model, init) => {
  const name = `tomosort-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const url = `indexeddb://${name}`;
  const handler = tf.io.getSaveHandlers(url)[0];
  if (!handler) throw new HostError('IndexedDB', 'this browser offers no IndexedDB to keep the model in');
  const { manifest } = await saveModel(model, init, handler);
  return { url, name, manifest };
};

async function cancellable(job: (signal: AbortSignal) => Promise<void>): Promise<void> {
  running = new AbortController();
  try {
    await job(running.signal);
  } finally {
    running = undefined;
  }
}

scope.onmessage = (event: MessageEvent) => {
  const msg = event.data as ToWorker;
  if (msg.type === 'cancel') {
    if (msg.id === undefined || msg.id === current?.id) running?.abort();
    return;
  }
  if (msg.type === 'start') {
    startBackend(msg).catch((e: unknown) => post({ type: 'error', message: plainError(e) }));
    return;
  }
  const id = msg.id;
  // Every message of this job carries its id.
  const postJob = (m: FromWorker) => post(id === undefined ? m : { ...m, jobId: id });
  if (current) {
    postJob({ type: 'error', message: `A job (${current.type}) is running: wait for it, or cancel it first.` });
    return;
  }
  current = { type: msg.type, id };
  const task = async (): Promise<void> => {
    switch (msg.type) {
      case 'finetune':
        return cancellable((signal) => runFinetune(pacs, msg.job, postJob, { interpolate, backend, signal, ...(replicas ? { replicas } : {}) }));
      case 'pretrain':
        return cancellable((signal) => runPretrain(pacs, msg.job, postJob, saveToIndexedDb, signal));
      case 'export':
        return runExport(pacs, msg.job, postJob);
      case 'listSegs':
        return runListSegs(pacs, msg.job, postJob);
      case 'loadSeg':
        return runLoadSeg(pacs, msg.job, postJob);
      case 'score':
        return runScore(pacs, msg.job, postJob);
      case 'match':
        return runMatch(pacs, msg.job, postJob);
      case 'benchmark':
        return cancellable((signal) => runBenchmark(msg.job, backend, postJob, signal, replicas));
    }
  };
  task()
    .catch((e: unknown) => postJob({ type: 'error', message: plainError(e) }))
    .finally(() => {
      current = undefined;
    });
};

/** Starts (or switches) the compute backend and says which runs, and why. */
async function startBackend(msg: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const threads = msg.threads ?? defaultWasmThreads(self.navigator.hardwareConcurrency);
  // Replicas need shared memory (a cross-origin-isolated page); each runs wasm on one thread.
  const asReplicas = msg.parallel === 'replicas' && threads > 1 && self.crossOriginIsolated === true;
  const wasmPaths = `${origin}${ASSETS_PATH}/wasm/`;
  const opts = { wasmPaths, wasmThreads: asReplicas ? 1 : threads };
  let info = await initBestBackend(msg.compute === 'wasm' ? ['wasm', 'cpu'] : ['webgpu', 'wasm', 'cpu'], opts);
  let note: string | undefined;
  if (msg.compute === 'auto' && info.softwareAdapter) {
    note = `the WebGPU adapter (${info.adapter ?? 'software'}) emulates a GPU on the CPU; wasm is faster here`;
    info = await initBestBackend(['wasm', 'cpu'], opts);
  }
  const fallbacks = info.failures.map((f) => `${f.backend}: ${f.error instanceof Error ? f.error.message : String(f.error)}`);
  replicas = asReplicas && info.active === 'wasm' ? { count: threads, helperUrl: `${origin}${ASSETS_PATH}/${REPLICA_BUNDLE}`, wasmPaths } : undefined;
  backend = info.label;
  // The worker can run up to this many replicas; a job says how many it ran (no more than its batch).
  post({ type: 'ready', backend: replicasLabel(backend, replicas?.count ?? 1), fallbacks, ...(note ? { note } : {}), ...(info.threads === undefined ? {} : { threads: info.threads }), ...(replicas ? { replicas: replicas.count } : {}) });
}
