import { readFileSync, readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { CorruptFileError, DicomError, NotAnImageError } from '../errors';
import { parseImage } from '../parseImage';
import type { DicomInput } from '../parseImage';

/** Every regular file below `dir` (hidden entries skipped), sorted by path. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

/**
 * Reads DICOM files and groups them by SeriesInstanceUID (inputs named by their path relative
 * to `root`). Non-image DICOM objects (DICOMDIR, SR…) and unreadable files without a .dcm
 * extension are skipped and reported through `warn`; any other bad file throws, naming it.
 * Series are not validated here: pass each group to readSeries.
 */
export function groupDicomFiles(paths: readonly string[], root: string, warn: (message: string) => void = () => {}): DicomInput[][] {
  const groups = new Map<string, DicomInput[]>();
  for (const path of paths) {
    const input: DicomInput = { name: relative(root, path) || basename(path), bytes: new Uint8Array(readFileSync(path)) };
    let seriesUID: string;
    try {
      seriesUID = parseImage(input).header.seriesInstanceUID;
    } catch (e) {
      if (e instanceof NotAnImageError || (e instanceof CorruptFileError && !/\.dcm$/i.test(path))) {
        warn(`skipped ${e.message}`);
        continue;
      }
      throw e;
    }
    const group = groups.get(seriesUID) ?? [];
    group.push(input);
    groups.set(seriesUID, group);
  }
  if (groups.size === 0) throw new DicomError(root, 'no DICOM images found');
  return [...groups.values()];
}
