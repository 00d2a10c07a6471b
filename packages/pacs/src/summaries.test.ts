import { describe, expect, it } from 'vitest';
import type { DicomJsonDataset } from './dicom-json';
import { isDicomJsonDataset, num, str, strs } from './dicom-json';
import { PacsResponseError } from './errors';
import { parseStowResponse } from './stow';
import { toInstanceSummary, toSeriesSummary, toStudySummary } from './summaries';

const req = { method: 'GET', url: 'http://h/dicom-web/studies' };

// Shapes copied from Orthanc 1.10 + DICOMweb 1.7 answers.
const study: DicomJsonDataset = {
  '00080020': { vr: 'DA', Value: ['20040119'] },
  '00080050': { vr: 'SH' },
  '00080061': { vr: 'CS', Value: ['CT', 'SR'] },
  '00081030': { vr: 'LO', Value: ['e+1'] },
  '00100010': { vr: 'PN', Value: [{ Alphabetic: 'CompressedSamples^CT1' }] },
  '00100020': { vr: 'LO', Value: ['1CT1'] },
  '0020000D': { vr: 'UI', Value: ['1.2.3'] },
  '00201206': { vr: 'IS', Value: [1] },
  '00201208': { vr: 'IS', Value: ['7'] },
};

describe('DICOM JSON accessors', () => {
  it('str reads strings, numbers and PN Alphabetic; empty values are undefined', () => {
    expect([str(study, '00100010'), str(study, '00201206'), str(study, '00080050'), str(study, 'FFFFFFFF')]).toEqual([
      'CompressedSamples^CT1',
      '1',
      undefined,
      undefined,
    ]);
  });
  it('num reads IS as number or numeric string; strs reads every value', () => {
    expect([num(study, '00201206'), num(study, '00201208'), num(study, '00081030')]).toEqual([1, 7, undefined]);
    expect(strs(study, '00080061')).toEqual(['CT', 'SR']);
  });
  it('isDicomJsonDataset accepts datasets and rejects arrays, null and elements without vr', () => {
    expect([isDicomJsonDataset(study), isDicomJsonDataset([]), isDicomJsonDataset(null), isDicomJsonDataset({ a: {} })]).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });
});

describe('summaries', () => {
  it('toStudySummary naturalizes a study and keeps raw', () => {
    expect(toStudySummary(study, req)).toEqual({
      studyInstanceUID: '1.2.3',
      patientName: 'CompressedSamples^CT1',
      patientID: '1CT1',
      studyDate: '20040119',
      studyDescription: 'e+1',
      accessionNumber: undefined,
      modalities: ['CT', 'SR'],
      numberOfSeries: 1,
      numberOfInstances: 7,
      raw: study,
    });
  });
  it('toSeriesSummary / toInstanceSummary read their UIDs and numbers', () => {
    const series = { ...study, '0020000E': { vr: 'UI', Value: ['1.2.3.4'] }, '00080060': { vr: 'CS', Value: ['CT'] }, '00201209': { vr: 'IS', Value: [20] } };
    expect(toSeriesSummary(series, req)).toMatchObject({ seriesInstanceUID: '1.2.3.4', modality: 'CT', numberOfInstances: 20 });
    const inst = { ...series, '00080018': { vr: 'UI', Value: ['1.2.3.4.5'] }, '00200013': { vr: 'IS', Value: [3] }, '00280010': { vr: 'US', Value: [128] } };
    expect(toInstanceSummary(inst, req)).toMatchObject({ sopInstanceUID: '1.2.3.4.5', instanceNumber: 3, rows: 128, columns: undefined });
  });
  it('a match without SeriesInstanceUID is a PacsResponseError naming the request and the tag', () => {
    expect(() => toSeriesSummary(study, req)).toThrow(
      new PacsResponseError('GET', req.url, 'a match lacks SeriesInstanceUID (0020000E)'),
    );
  });
});

describe('parseStowResponse', () => {
  it('reads stored and failed SOPs (Orthanc 409 answer shape)', () => {
    const ds: DicomJsonDataset = {
      '00081198': {
        vr: 'SQ',
        Value: [{ '00081150': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.4'] }, '00081155': { vr: 'UI', Value: ['9.9'] }, '00081197': { vr: 'US', Value: [272] } }],
      },
      '00081199': { vr: 'SQ' },
    };
    const r = parseStowResponse(409, ds);
    expect(r.stored).toEqual([]);
    expect(r.failed).toEqual([{ sopClassUID: '1.2.840.10008.5.1.4.1.1.4', sopInstanceUID: '9.9', failureReason: 272 }]);
  });
});
