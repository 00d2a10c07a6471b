import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** The last `lines` lines (at most `maxBytes` bytes) of a text file; '' when it cannot be read. */
export function tailFile(path: string, lines = 20, maxBytes = 8192): string {
  let fd: number | undefined;
  try {
    const size = statSync(path).size;
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    fd = openSync(path, 'r');
    readSync(fd, buf, 0, length, size - length);
    return buf.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Size of a file in bytes, 0 when it does not exist. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Text of a file from byte `offset` on (at most `maxBytes`); '' when it cannot be read. */
export function readFrom(path: string, offset: number, maxBytes = 1 << 20): string {
  let fd: number | undefined;
  try {
    const length = Math.max(0, Math.min(fileSize(path) - offset, maxBytes));
    const buf = Buffer.alloc(length);
    fd = openSync(path, 'r');
    readSync(fd, buf, 0, length, offset);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
