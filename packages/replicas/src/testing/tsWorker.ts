import { Worker } from 'node:worker_threads';

/**
 * A worker_thread running a TypeScript module (tests only): tsx registers its loader inside the
 * thread first (ESM and CommonJS) — a worker's `--import tsx` does not take under vitest's forks.
 */
export function tsWorker(module: URL, workerData: unknown): Worker {
  // Both of tsx's hooks, as its CLI sets them: tfjs-core's gradients load through require.
  const code = `Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]).then(([esm, cjs]) => { esm.register(); cjs.register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(code, { eval: true, workerData });
}
