import { NODE_BACKEND_NAMES, THREADS_VARIABLE, isNodeBackendName, startNodeBackend } from '@tomosort/native';
import type { NodeBackendInfo } from '@tomosort/native';
import { UsageError } from './errors';
import { intOption } from './parse';

/** The options every command that trains or predicts takes. */
export const BACKEND_OPTIONS = { backend: { type: 'string' }, threads: { type: 'string' } } as const;

/** Their lines in a command's usage. */
export const BACKEND_USAGE = `  --backend B       native (default: oneDNN kernels; wasm when they cannot load) | wasm | cpu | webgpu
  --threads N       native threads (default $${THREADS_VARIABLE}, else the cores this process may use)`;

/**
 * Starts the backend named by `--backend` (default: native, else wasm) with `--threads`, and says
 * on stderr which one runs. A default run that cannot load the native kernels says why in one
 * line, even when `quiet`, and runs on wasm.
 */
export async function startBackend(values: { readonly backend?: string | undefined; readonly threads?: string | undefined }, quiet: boolean): Promise<NodeBackendInfo> {
  const name = values.backend;
  if (name !== undefined && !isNodeBackendName(name)) throw new UsageError(`--backend must be one of ${NODE_BACKEND_NAMES.join(', ')}, got "${name}"`);
  const threads = values.threads === undefined ? undefined : intOption('threads', values.threads, 1, 1);
  const info = await startNodeBackend(name, threads === undefined ? {} : { threads });
  if (info.fallback) process.stderr.write(`backend: ${info.fallback}\n`);
  else if (!quiet) process.stderr.write(`backend: ${info.label}\n`);
  return info;
}
