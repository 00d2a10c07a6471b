import { describe, expect, it } from 'vitest';
import { PacsArgumentError } from './errors';
import { orthancId, seriesUid, studyUid } from './uids';

describe('UID and Orthanc id brands', () => {
  it('studyUid strips DICOM NUL/space padding', () => {
    expect(studyUid('1.2.840.10008\0')).toBe('1.2.840.10008');
    expect(seriesUid('1.2.3 ')).toBe('1.2.3');
  });
  it.each([[''], ['1.2/3'], ['1'.repeat(65)]])('rejects %j', (bad) => {
    expect(() => studyUid(bad)).toThrow(PacsArgumentError);
  });
  it('orthancId accepts 5×8 hex and rejects a DICOM UID', () => {
    expect(orthancId('93034833-163e42c3-bc9a428b-194620cf-2c5799e5')).toBe('93034833-163e42c3-bc9a428b-194620cf-2c5799e5');
    expect(() => orthancId('1.2.3')).toThrow(/an Orthanc id looks like 8 hex digits ×5 joined by '-', got "1.2.3"/);
  });
});
