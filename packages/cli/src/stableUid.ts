import { createHash } from 'node:crypto';

/**
 * A DICOM UID (`2.25.` + 128-bit integer) derived from a name, so that a sample imported twice
 * gets the same UIDs and Orthanc answers "AlreadyStored" instead of piling up copies.
 */
export function stableUid(name: string): string {
  const h = createHash('sha256').update(`tomosort:${name}`).digest();
  let n = 0n;
  for (const b of h.subarray(0, 16)) n = (n << 8n) | BigInt(b);
  return `2.25.${n.toString()}`;
}
