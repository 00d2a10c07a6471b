import { availableParallelism } from 'node:os';
import type { BackendInfo, BackendName } from '@tomosort/backend';
import { initNodeBackend } from '@tomosort/backend/node';
import { loadAddon } from './addon';
import { NativeError, NativeUnavailableError } from './errors';
import { installNativeKernels } from './registry';

/** The environment variable that sets the native thread count (`--threads` overrides it). */
export const THREADS_VARIABLE = 'TOMOSORT_THREADS';

/** What a Node process may train on: the tfjs backends, and `native` (oneDNN kernels over wasm). */
export type NodeBackendName = BackendName | 'native';

export const NODE_BACKEND_NAMES: readonly NodeBackendName[] = ['native', 'wasm', 'cpu', 'webgpu'];

export const isNodeBackendName = (s: string): s is NodeBackendName => (NODE_BACKEND_NAMES as readonly string[]).includes(s);

/** A started Node backend. `requested: 'native'` runs on tfjs' wasm backend with native kernels. */
export interface NodeBackendInfo extends Omit<BackendInfo, 'requested'> {
  readonly requested: NodeBackendName;
  /** native: the oneDNN version and the threads its kernels use. */
  readonly native?: { readonly onednn: string; readonly threads: number };
  /** Set when the native kernels were wanted by default but could not load: one line saying why. */
  readonly fallback?: string;
}

/**
 * Native threads: `threads` if given, else `$TOMOSORT_THREADS`, else the cores this process may
 * use (`os.availableParallelism()`, which honours CPU affinity).
 *
 * @throws NativeError for a value that is not a positive integer
 */
export function nativeThreads(threads?: number): number {
  const fromEnv = process.env[THREADS_VARIABLE];
  const n = threads ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : availableParallelism());
  if (!Number.isInteger(n) || n < 1) {
    throw new NativeError(`threads must be a positive integer, got ${threads ?? `${THREADS_VARIABLE}=${fromEnv}`}`);
  }
  return n;
}

/**
 * Starts tfjs' wasm backend and puts the native kernels in place of its heavy ones
 * (convolutions, pooling, matmul) plus tomosort's fused batch norm and Adam kernels.
 * `tf.getBackend()` stays 'wasm'; every other op runs on wasm as before.
 *
 * @throws NativeUnavailableError (one-line `reason`) when the addon cannot be used
 */
export async function initNativeBackend(options: { readonly threads?: number } = {}): Promise<NodeBackendInfo> {
  const addon = loadAddon();
  const threads = nativeThreads(options.threads);
  const wasm = await initNodeBackend('wasm');
  addon.setThreads(threads);
  installNativeKernels(addon);
  const { onednn } = addon.info();
  return {
    ...wasm,
    requested: 'native',
    label: `native (oneDNN ${onednn}, ${threads} thread${threads === 1 ? '' : 's'}; other ops on ${wasm.label})`,
    native: { onednn, threads },
  };
}

/**
 * Starts the backend a command asked for. `undefined` means the default: native when the addon
 * loads, else wasm with `fallback` saying why in one line. An explicit `native` that cannot load
 * throws, so a benchmark never silently measures something else.
 *
 * @throws NativeUnavailableError, BackendInitError
 */
export async function startNodeBackend(name: NodeBackendName | undefined, options: { readonly threads?: number } = {}): Promise<NodeBackendInfo> {
  if (name === 'native') return initNativeBackend(options);
  if (name !== undefined) return initNodeBackend(name);
  try {
    return await initNativeBackend(options);
  } catch (e) {
    if (!(e instanceof NativeUnavailableError)) throw e;
    const wasm = await initNodeBackend('wasm');
    return { ...wasm, fallback: `${e.message}; running on ${wasm.label}` };
  }
}
