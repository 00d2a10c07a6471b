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
  refuseUserinfo(baseUrl, flag !== undefined ? '--pacs' : 'TOMOSORT_PACS_URL');
  return new PacsClient({ ...fromEnv, baseUrl });
}

/**
 * Credentials in a URL end up in `ps`, shell history and logs: the CLI takes them from the
 * environment only. The message shows the URL without them.
 */
function refuseUserinfo(url: string, where: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return; // the client reports a malformed URL itself
  }
  if (parsed.username || parsed.password) {
    parsed.username = '';
    parsed.password = '';
    throw new CliError(`${where} must not hold credentials (user:password@): use ${parsed.href.replace(/\/$/, '')} and set TOMOSORT_PACS_USER and TOMOSORT_PACS_PASSWORD (or TOMOSORT_PACS_TOKEN) in the environment`);
  }
}
