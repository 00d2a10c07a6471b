import { PacsClient, pacsConfigFromEnv } from '@tomosort/pacs';
import { isPidAlive } from '@tomosort/pacs/local';
import { CliError } from './errors';
import { readPacsState } from './pacsState';

/**
 * The PACS a command talks to: `--pacs URL`, else $TOMOSORT_PACS_URL, else the Orthanc that
 * `tomosort pacs up` started. Credentials always come from the environment.
 */
export function connectPacs(flag: string | undefined): PacsClient {
  const fromEnv = pacsConfigFromEnv({ ...process.env, TOMOSORT_PACS_URL: process.env.TOMOSORT_PACS_URL ?? 'unset' });
  let baseUrl = flag ?? process.env.TOMOSORT_PACS_URL;
  if (!baseUrl) {
    const state = readPacsState();
    if (!state || !isPidAlive(state.pid)) {
      throw new CliError('no PACS given: pass --pacs URL, set TOMOSORT_PACS_URL, or start a local one with `pnpm tomosort pacs up`');
    }
    baseUrl = state.url;
  }
  return new PacsClient({ ...fromEnv, baseUrl });
}
