import { readSeries } from '@tomosort/dicom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacsClient } from './client';
import { PacsHttpError, PacsStowError } from './errors';
import type { LocalOrthanc } from './local/index';
import { startOrthanc } from './local/index';
import { loadSeriesVolume } from './load-series-volume';
import { fetchSeriesFiles } from './series-files';
import { BRAIN, CT_SMALL, MR_SMALL, readBytes, rejectionOf, sha256 } from './testing/fixtures';
import { seriesUid } from './uids';

/** Offset of the PixelData (7FE0,0010) value in an explicit-VR little-endian Part-10 file. */
function pixelDataOffset(file: Uint8Array): number {
  for (let i = 132; i + 12 <= file.length; i++) {
    if (file[i] === 0xe0 && file[i + 1] === 0x7f && file[i + 2] === 0x10 && file[i + 3] === 0x00) return i + 12;
  }
  throw new Error('no PixelData');
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('PacsClient against a real Orthanc 1.10 + DICOMweb', () => {
  let orthanc: LocalOrthanc;
  let client: PacsClient;
  const ct = readBytes(CT_SMALL.path);
  const brain = BRAIN.paths.map(readBytes);

  beforeAll(async () => {
    orthanc = await startOrthanc();
    client = new PacsClient({ baseUrl: orthanc.url });
    await client.uploadInstances([ct, ...brain], { concurrency: 4 });
  });
  afterAll(async () => {
    await orthanc?.stop();
  });

  it('system() reports Orthanc 1.10.x', async () => {
    const sys = await client.system();
    expect(sys.version).toMatch(/^1\.10\./);
    expect(sys.name).toMatch(/^tomosort-local-[0-9a-f]{8}$/);
  });

  it('uploadInstance of CT_small.dcm again answers AlreadyStored with Orthanc ids of its series and study', async () => {
    const r = await client.uploadInstance(ct);
    expect(r.status).toBe('AlreadyStored');
    expect(r.parentSeries).toBe(await client.orthancSeriesId(CT_SMALL.series));
    expect(r.id).toMatch(/^[0-9a-f]{8}(-[0-9a-f]{8}){4}$/);
  });

  it('QIDO searchStudies finds 2 studies: CT (1 series, 1 instance) and MR brain (1 series, 20 instances)', async () => {
    const studies = await client.searchStudies();
    expect(studies.map((s) => s.studyInstanceUID).sort()).toEqual([BRAIN.study, CT_SMALL.study].sort());
    const ctStudy = studies.find((s) => s.studyInstanceUID === CT_SMALL.study)!;
    expect(ctStudy).toMatchObject({ patientName: 'CompressedSamples^CT1', studyDate: '20040119', modalities: ['CT'], numberOfSeries: 1, numberOfInstances: 1 });
    const mr = studies.find((s) => s.studyInstanceUID === BRAIN.study)!;
    expect(mr).toMatchObject({ studyDescription: 'BRAIN', modalities: ['MR'], numberOfSeries: 1, numberOfInstances: 20 });
    expect(mr.raw['0020000D']?.Value).toEqual([BRAIN.study]);
  });

  it('QIDO searchStudies with PatientName=*CT* and limit=10 matches only the CT study', async () => {
    const studies = await client.searchStudies({ PatientName: '*CT*', limit: 10 });
    expect(studies.map((s) => s.studyInstanceUID)).toEqual([CT_SMALL.study]);
  });

  it('QIDO searchSeries(MR study) finds series "FSE PD AXIAL OBL", modality MR, 20 instances', async () => {
    const series = await client.searchSeries(BRAIN.study);
    expect(series).toHaveLength(1);
    expect(series[0]).toMatchObject({
      studyInstanceUID: BRAIN.study,
      seriesInstanceUID: BRAIN.series,
      modality: 'MR',
      seriesDescription: 'FSE PD AXIAL OBL',
      numberOfInstances: 20,
    });
  });

  it('QIDO searchSeries() without a study lists both series; Modality=CT narrows it to CT_small', async () => {
    expect((await client.searchSeries()).map((s) => s.seriesInstanceUID).sort()).toEqual([BRAIN.series, CT_SMALL.series].sort());
    expect((await client.searchSeries(undefined, { Modality: 'CT' })).map((s) => s.seriesInstanceUID)).toEqual([CT_SMALL.series]);
  });

  it('QIDO searchInstances(MR series) gives 20 distinct SOP UIDs with InstanceNumbers 1..20 and 256×256', async () => {
    const instances = await client.searchInstances(BRAIN.study, BRAIN.series);
    expect(instances).toHaveLength(20);
    expect(new Set(instances.map((i) => i.sopInstanceUID)).size).toBe(20);
    expect(instances.map((i) => i.instanceNumber).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(instances.every((i) => i.rows === 256 && i.columns === 256 && i.seriesInstanceUID === BRAIN.series)).toBe(true);
  });

  it('QIDO searchInstances of an unknown series is empty', async () => {
    expect(await client.searchInstances(BRAIN.study, seriesUid('1.2.3.4'))).toEqual([]);
  });

  it('WADO-RS retrieveInstance(CT_small) returns bytes with the same SHA-256 as the uploaded file', async () => {
    const bytes = await client.retrieveInstance(CT_SMALL.study, CT_SMALL.series, CT_SMALL.sop);
    expect(bytes.byteLength).toBe(ct.byteLength);
    expect(sha256(bytes)).toBe(sha256(ct));
  });

  it('WADO-RS retrieveFrames(CT_small, [1]) returns the 128×128×2 = 32768 PixelData bytes of the file', async () => {
    const [frame, ...rest] = await client.retrieveFrames(CT_SMALL.study, CT_SMALL.series, CT_SMALL.sop, [1]);
    expect(rest).toEqual([]);
    expect(frame!.frameNumber).toBe(1);
    expect(frame!.transferSyntaxUID).toBe('1.2.840.10008.1.2.1');
    const at = pixelDataOffset(ct);
    expect(sha256(frame!.bytes)).toBe(sha256(ct.subarray(at, at + 32768)));
  });

  it('WADO-RS retrieveFrames of frame 2 of a single-frame image is PacsHttpError 400', async () => {
    const e = await rejectionOf(() => client.retrieveFrames(CT_SMALL.study, CT_SMALL.series, CT_SMALL.sop, [2]));
    expect(e).toBeInstanceOf(PacsHttpError);
    expect((e as PacsHttpError).status).toBe(400);
  });

  it('WADO-RS retrieveSeriesMetadata(MR) returns 20 datasets with Rows 256', async () => {
    const meta = await client.retrieveSeriesMetadata(BRAIN.study, BRAIN.series);
    expect(meta).toHaveLength(20);
    expect(meta.every((ds) => ds['00280010']?.Value?.[0] === 256)).toBe(true);
  });

  it('fetchSeriesFiles downloads 20 files named `${series}/${sop}` in InstanceNumber order, identical to the originals', async () => {
    const progress: [number, number][] = [];
    const files = await fetchSeriesFiles(client, BRAIN.study, BRAIN.series, { concurrency: 3, onProgress: (d, t) => progress.push([d, t]) });
    expect(files.map((f) => f.instanceNumber)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(files.every((f) => f.name === `${BRAIN.series}/${f.sopInstanceUID}`)).toBe(true);
    expect(new Set(files.map((f) => sha256(f.bytes)))).toEqual(new Set(brain.map(sha256)));
    expect(progress[0]).toEqual([0, 20]);
    expect(progress.at(-1)).toEqual([20, 20]);
  });

  it('fetchSeriesFiles rejects with the caller signal reason when aborted', async () => {
    const controller = new AbortController();
    const run = fetchSeriesFiles(client, BRAIN.study, BRAIN.series, {
      mode: 'instances',
      signal: controller.signal,
      onProgress: (done) => done === 2 && controller.abort(new Error('user cancelled')),
    });
    await expect(run).rejects.toThrow('user cancelled');
  });

  it("fetchSeriesFiles: one series-level request ('series') gives the same 20 files as per-instance requests", async () => {
    const bySeries = await fetchSeriesFiles(client, BRAIN.study, BRAIN.series);
    const byInstance = await fetchSeriesFiles(client, BRAIN.study, BRAIN.series, { mode: 'instances' });
    expect(bySeries.map((f) => f.name)).toEqual(byInstance.map((f) => f.name));
    expect(bySeries.map((f) => sha256(f.bytes))).toEqual(byInstance.map((f) => sha256(f.bytes)));
    expect(bySeries).toHaveLength(20);
  });

  it('loadSeriesVolume(MR brain) gives the 256×256×20 MR volume readSeries makes from the local files, sources named `${series}/${sop}`', async () => {
    let last: [number, number] = [0, 0];
    const loaded = await loadSeriesVolume(client, BRAIN.study, BRAIN.series, { onProgress: (d, t) => (last = [d, t]) });
    const local = readSeries(BRAIN.paths.map((p) => ({ name: p, bytes: readBytes(p) })));
    expect(last).toEqual([20, 20]);
    expect(loaded.volume.dims).toEqual([256, 256, 20]);
    expect(loaded.seriesInstanceUID).toBe(BRAIN.series);
    expect(loaded.sources.every((n) => n.startsWith(`${BRAIN.series}/`))).toBe(true);
    expect(loaded.sopInstanceUIDs).toEqual(local.sopInstanceUIDs);
    expect(sha256(bytesOf(loaded.volume.data))).toBe(sha256(bytesOf(local.volume.data)));
  });

  it('STOW-RS storeInstances([MR_small]) stores 1 instance and QIDO then finds its study and SOP UID', async () => {
    const result = await client.storeInstances([readBytes(MR_SMALL.path)]);
    expect(result.status).toBe(200);
    expect(result.failed).toEqual([]);
    expect(result.stored.map((s) => s.sopInstanceUID)).toEqual([MR_SMALL.sop]);
    expect((await client.searchStudies({ StudyInstanceUID: MR_SMALL.study })).map((s) => s.studyInstanceUID)).toEqual([MR_SMALL.study]);
    const inst = await client.searchInstances(MR_SMALL.study, MR_SMALL.series);
    expect(inst.map((i) => i.sopInstanceUID)).toEqual([MR_SMALL.sop]);
  });

  it('STOW-RS into another study URL fails with PacsStowError: 409, 0 of 1 stored, the SOP UID and reason 272', async () => {
    const e = await rejectionOf(() => client.storeInstances([readBytes(MR_SMALL.path)], CT_SMALL.study));
    expect(e).toBeInstanceOf(PacsStowError);
    const stow = e as PacsStowError;
    expect([stow.status, stow.sent, stow.stored]).toEqual([409, 1, 0]);
    expect(stow.failures).toEqual([{ sopClassUID: '1.2.840.10008.5.1.4.1.1.4', sopInstanceUID: MR_SMALL.sop, failureReason: 272 }]);
    expect(stow.message).toContain(MR_SMALL.sop);
  });

  it('STOW-RS with one DICOM part and one non-DICOM part fails with PacsStowError: 1 of 2 stored', async () => {
    const e = await rejectionOf(() => client.storeInstances([readBytes(MR_SMALL.path), new TextEncoder().encode('not dicom')]));
    expect(e).toBeInstanceOf(PacsStowError);
    expect((e as PacsStowError).message).toMatch(/stored 1 of 2 instances/);
  });

  it('find(Series, {SeriesInstanceUID}) and findExpanded return the id that orthancSeriesId gives', async () => {
    const id = await client.orthancSeriesId(BRAIN.series);
    expect(await client.find('Series', { SeriesInstanceUID: BRAIN.series })).toEqual([id]);
    const [res] = await client.findExpanded('Series', { Modality: 'MR', SeriesDescription: 'FSE*' });
    expect(res).toMatchObject({ id, type: 'Series', mainDicomTags: { SeriesInstanceUID: BRAIN.series } });
  });

  it('orthancSeriesId of an unknown UID is undefined', async () => {
    expect(await client.orthancSeriesId(seriesUid('1.2.3.4.5'))).toBeUndefined();
  });

  it('deleteSeries(CT series) removes it: QIDO no longer finds it, listSeriesIds shrinks by 1, its study goes too, a second delete gives false and deleteResource 404', async () => {
    const id = (await client.orthancSeriesId(CT_SMALL.series))!;
    const [studyId] = await client.find('Study', { StudyInstanceUID: CT_SMALL.study });
    expect(await client.listStudies()).toContain(studyId);
    const before = await client.listSeriesIds();
    expect(before).toContain(id);
    expect(await client.deleteSeries(CT_SMALL.series)).toBe(true);
    expect(await client.searchSeries(undefined, { SeriesInstanceUID: CT_SMALL.series })).toEqual([]);
    expect(await client.listSeriesIds()).toHaveLength(before.length - 1);
    expect(await client.listStudies()).not.toContain(studyId);
    expect(await client.deleteSeries(seriesUid('1.2.3.4.5'))).toBe(false);
    const e = await rejectionOf(() => client.deleteResource('series', id));
    expect(e).toBeInstanceOf(PacsHttpError);
    expect((e as PacsHttpError).status).toBe(404);
  });
});
