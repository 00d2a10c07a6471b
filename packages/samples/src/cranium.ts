import { readFile } from 'node:fs/promises';
import { readInv3 } from '@tomosort/dicom';
import type { Inv3Project } from '@tomosort/dicom';
import { SampleUnavailableError } from './errors';

/**
 * Where Debian's `invesalius-examples` package installs Cranium.inv3: a real head CT
 * (108 coronal slices of 256², 0.957 × 0.957 × 1.5 mm) with two threshold masks. GPL-2: it is read
 * from here at run time and never copied into the repository.
 */
export const CRANIUM_PATH = '/usr/share/doc/invesalius-examples/examples/Cranium.inv3';

/**
 * Loads sample:cranium with readInv3: volume dims [256, 256, 108] in the coronal frame, centred
 * at patient (0, 0, 0), plus masks 0 (bone, 226..3071 HU) and 1 (head, −142..2986 HU).
 * @param path where to read it from (default {@link CRANIUM_PATH}).
 * @throws SampleUnavailableError when the file is not installed.
 */
export async function loadCranium(path: string = CRANIUM_PATH): Promise<Inv3Project> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SampleUnavailableError(
        'sample:cranium',
        path,
        'install it with `apt-get install invesalius-examples` (or run ./scripts/setup.sh)',
        { cause: e },
      );
    }
    throw e;
  }
  return readInv3(bytes, 'Cranium.inv3');
}
