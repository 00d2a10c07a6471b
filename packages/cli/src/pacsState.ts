import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tomosortHome } from './env';
import { writeFileAtomic } from './files';

/** What `tomosort pacs up` records about the Orthanc it started. */
export interface PacsState {
  readonly url: string;
  readonly pid: number;
  readonly dir: string;
  readonly port: number;
  readonly startedAt: string;
}

export const pacsStatePath = (): string => join(tomosortHome(), 'pacs.json');

export function readPacsState(): PacsState | undefined {
  try {
    return JSON.parse(readFileSync(pacsStatePath(), 'utf8')) as PacsState;
  } catch {
    return undefined;
  }
}

/** Written atomically (temp file + rename) so a crash never leaves half a record. */
export const writePacsState = (state: PacsState): void => writeFileAtomic(pacsStatePath(), `${JSON.stringify(state, null, 2)}\n`);

export const clearPacsState = (): void => rmSync(pacsStatePath(), { force: true });
