import { initNodeBackend } from '@tomosort/backend/node';
import type { BackendInfo, BackendName } from '@tomosort/backend';
import { isBackendName } from '@tomosort/backend';
import { UsageError } from './errors';

/** Starts the backend named by `--backend` (default wasm) and says on stderr which one runs. */
export async function startBackend(value: string | undefined, quiet: boolean): Promise<BackendInfo> {
  const name = value ?? 'wasm';
  if (!isBackendName(name)) throw new UsageError(`--backend must be wasm, cpu or webgpu, got "${name}"`);
  const info = await initNodeBackend(name as BackendName);
  if (!quiet) process.stderr.write(`backend: ${info.label}\n`);
  return info;
}
