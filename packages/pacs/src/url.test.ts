import { describe, expect, it } from 'vitest';
import { joinUrl, redactUrl, splitCredentials, withQuery } from './url';

describe('redactUrl', () => {
  it.each([
    ['http://u:p@h:1/x?q=1', 'http://h:1/x?q=1'],
    ['https://token@h/x', 'https://h/x'],
    ['http://h/x@y', 'http://h/x@y'],
    ['/pacs/system', '/pacs/system'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});

describe('splitCredentials', () => {
  it('moves percent-encoded userinfo out of the URL', () => {
    expect(splitCredentials('http://al%40ce:p%3Aw@h:8042/root')).toEqual({
      url: 'http://h:8042/root',
      credentials: { username: 'al@ce', password: 'p:w' },
    });
  });
  it('leaves URLs without userinfo, and relative ones, untouched', () => {
    expect(splitCredentials('http://h:8042')).toEqual({ url: 'http://h:8042', credentials: undefined });
    expect(splitCredentials('/pacs')).toEqual({ url: '/pacs', credentials: undefined });
  });
});

describe('joinUrl / withQuery', () => {
  it('joins with single slashes', () => {
    expect(joinUrl('http://h/', '/dicom-web/', 'studies', '', '1.2')).toBe('http://h/dicom-web/studies/1.2');
    expect(joinUrl('/pacs', 'system')).toBe('/pacs/system');
  });
  it('encodes values, keeps commas literal, skips undefined, joins arrays with commas', () => {
    expect(withQuery('/s', { PatientName: 'DOE^J*', limit: 5, includefield: ['00081030', '0008103E'], x: undefined })).toBe(
      '/s?PatientName=DOE%5EJ*&limit=5&includefield=00081030,0008103E',
    );
    expect(withQuery('/s', {})).toBe('/s');
  });
});
