import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tomosortHome } from './env';

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
export function writePacsState(state: PacsState): void {
  const path = pacsStatePath();
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, path);
}

export const clearPacsState = (): void => rmSync(pacsStatePath(), { force: true });
