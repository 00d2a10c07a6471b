import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { syncDir } from '@tomosort/models/node';

/** Writes a file atomically: a temp file in the same folder, then rename (readers never see half a file). */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}


/**
 * Writes a file atomically and durably: temp file, fsync, rename, fsync of the folder. Once it
 * returns, the whole new content is on disk, even if the machine goes down right after.
 */
export function writeFileDurable(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dirname(path));
}

/** Removes a file (if there) and fsyncs its folder, so the removal itself is durable. */
export function removeFileDurable(path: string): void {
  rmSync(path, { force: true });
  try {
    syncDir(dirname(path));
  } catch {
    // The folder is gone too: nothing left to make durable.
  }
}
