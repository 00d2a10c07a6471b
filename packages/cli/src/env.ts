import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * Resolves a path the user typed. `pnpm tomosort …` runs with the repository root as its
 * working directory; pnpm keeps the user's own directory in INIT_CWD.
 */
export const userPath = (p: string): string => (isAbsolute(p) ? p : resolve(process.env.INIT_CWD ?? process.cwd(), p));

/** Where tomosort keeps its state (the local PACS record, its storage): $TOMOSORT_HOME, else ~/.tomosort. */
export const tomosortHome = (): string => process.env.TOMOSORT_HOME ?? join(homedir(), '.tomosort');
