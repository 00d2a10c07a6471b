// Malformed answers injected through the `fetch` option (faults a healthy Orthanc does not produce).
import { describe, expect, it } from 'vitest';
import { PacsClient } from './client';
import { PacsHttpError, PacsResponseError } from './errors';
import { rejectionOf } from './testing/fixtures';
import { seriesUid, sopInstanceUid, studyUid } from './uids';

const answering = (body: string, init: ResponseInit): PacsClient =>
  new PacsClient({ baseUrl: 'http://pacs.test', retries: 0, fetch: async () => new Response(body, init) });

const [S, SE, SOP] = [studyUid('1.2'), seriesUid('1.2.3'), sopInstanceUid('1.2.3.4')];

describe('PacsClient on malformed answers', () => {
  it('STOW-RS 400 with Orthanc’s JSON error (no store report) → PacsHttpError 400 carrying Orthanc’s message', async () => {
    const body = JSON.stringify({ HttpStatus: 400, Message: 'Bad request', Details: 'no boundary', OrthancStatus: 8 });
    const e = await rejectionOf(() => answering(body, { status: 400, statusText: 'Bad Request' }).storeInstances([new Uint8Array(4)]));
    expect(e).toBeInstanceOf(PacsHttpError);
    expect((e as PacsHttpError).orthanc).toEqual({ message: 'Bad request', details: 'no boundary', orthancStatus: 8 });
    expect(e.message).toBe('POST http://pacs.test/dicom-web/studies failed with 400 Bad Request: Bad request (no boundary)');
  });

  it('QIDO 200 with a body that is not JSON → PacsResponseError naming the URL', async () => {
    const e = await rejectionOf(() => answering('<html>', { status: 200 }).searchStudies());
    expect(e).toBeInstanceOf(PacsResponseError);
    expect(e.message).toMatch(/^GET http:\/\/pacs\.test\/dicom-web\/studies\?includefield=\S+ returned an unreadable answer: invalid JSON/);
  });

  it('QIDO 200 with a match lacking StudyInstanceUID → PacsResponseError', async () => {
    const e = await rejectionOf(() => answering('[{"00100010":{"vr":"PN"}}]', { status: 200 }).searchStudies());
    expect(e.message).toMatch(/a match lacks StudyInstanceUID \(0020000D\)$/);
  });

  it('WADO-RS 200 with a truncated multipart body → PacsResponseError "truncated answer"', async () => {
    const client = answering('--b1\r\nContent-Type: application/dicom\r\n\r\nDICM...', {
      status: 200,
      headers: { 'Content-Type': 'multipart/related; type="application/dicom"; boundary=b1' },
    });
    const e = await rejectionOf(() => client.retrieveInstance(S, SE, SOP));
    expect(e).toBeInstanceOf(PacsResponseError);
    expect(e.message).toContain('part 1 is not closed by a boundary (truncated answer?)');
  });

  it('WADO-RS frames: 2 frames asked, 1 part answered → PacsResponseError', async () => {
    const client = answering('--b1\r\nContent-Type: application/octet-stream\r\n\r\nxx\r\n--b1--', {
      status: 200,
      headers: { 'Content-Type': 'multipart/related; type="application/octet-stream"; boundary=b1' },
    });
    const e = await rejectionOf(() => client.retrieveFrames(S, SE, SOP, [1, 2]));
    expect(e.message).toMatch(/asked for 2 frames, got 1 parts$/);
  });

  it('frame numbers must be integers ≥ 1', async () => {
    await expect(answering('', { status: 200 }).retrieveFrames(S, SE, SOP, [0])).rejects.toThrow(
      'frame numbers must be integers ≥ 1 (1-based), got [0]',
    );
  });
});
