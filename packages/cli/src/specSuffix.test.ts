import { describe, expect, it } from 'vitest';
import { UsageError } from './errors';
import { parseSliceRange, splitSpecSuffixes } from './specSuffix';

describe('splitSpecSuffixes', () => {
  const known = ['slices', 't'];
  it.each([
    ['sample:colin27', 'sample:colin27', {}],
    ['sample:colin27#slices=60-69', 'sample:colin27', { slices: '60-69' }],
    ['scan.nii.gz#t=3#slices=0-9', 'scan.nii.gz', { t: '3', slices: '0-9' }],
    ['scan.nii.gz#slices=0-9#t=3', 'scan.nii.gz', { t: '3', slices: '0-9' }],
    ['1.2.840.1#slices=5', '1.2.840.1', { slices: '5' }],
    // A '#' without key= is part of a file name.
    ['scans/run#2.nii.gz', 'scans/run#2.nii.gz', {}],
    ['scans/run#2.nii.gz#slices=1-2', 'scans/run#2.nii.gz', { slices: '1-2' }],
    ['a.nii#slices=', 'a.nii', { slices: '' }],
  ])('%s → base %s', (spec, base, params) => {
    const s = splitSpecSuffixes(spec, known);
    expect(s.base).toBe(base);
    expect(Object.fromEntries(s.params)).toEqual(params);
  });

  it.each([
    ['sample:colin27#frames=1', 'sample:colin27#frames=1: unknown suffix #frames=…; known: #slices=…, #t=…'],
    ['sample:colin27#slices=1#slices=2', 'sample:colin27#slices=1#slices=2: #slices= is given twice'],
    ['#slices=1-2', '#slices=1-2: names no series before its #suffixes'],
  ])('refuses %s', (spec, message) => {
    expect(() => splitSpecSuffixes(spec, known)).toThrow(new UsageError(message));
  });
});

describe('parseSliceRange', () => {
  it.each([
    ['60-69', { first: 60, last: 69 }],
    ['7', { first: 7, last: 7 }],
    ['0-0', { first: 0, last: 0 }],
  ])('%s → %o', (value, range) => {
    expect(parseSliceRange(value, 's')).toEqual(range);
  });
  it.each([
    ['', 's: #slices= takes FIRST-LAST (slice indices, inclusive) or one index, got ""'],
    ['-3', 's: #slices= takes FIRST-LAST (slice indices, inclusive) or one index, got "-3"'],
    ['1.5-3', 's: #slices= takes FIRST-LAST (slice indices, inclusive) or one index, got "1.5-3"'],
    ['60:69', 's: #slices= takes FIRST-LAST (slice indices, inclusive) or one index, got "60:69"'],
    ['9-3', 's: #slices=9-3 ends before it starts'],
  ])('refuses "%s"', (value, message) => {
    expect(() => parseSliceRange(value, 's')).toThrow(new UsageError(message));
  });
});
