import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FULL_EXPERIMENT } from '../commands/experiment';
import { ExperimentStore } from './store';

const scratch = mkdtempSync(join(tmpdir(), 'tomosort-store-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('ExperimentStore: what a grid job hands back, and what the submitter keeps', () => {
  it('used() holds the units computed and those read; put() stores another store’s unit once', async () => {
    const a = new ExperimentStore(join(scratch, 'worker'), FULL_EXPERIMENT);
    expect(await a.unit('dice/sorting/p1/k2-s1', async () => 0.5)).toBe(0.5);
    const b = new ExperimentStore(join(scratch, 'worker'), FULL_EXPERIMENT);
    expect(await b.unit('dice/sorting/p1/k2-s1', async () => 0.9)).toBe(0.5); // read, not computed
    expect(Object.keys(a.used())).toEqual(['dice/sorting/p1/k2-s1']);
    expect(b.used()['dice/sorting/p1/k2-s1']!.value).toBe(0.5);
    const submitter = new ExperimentStore(join(scratch, 'submitter'), FULL_EXPERIMENT);
    expect(submitter.put('dice/sorting/p1/k2-s1', b.used()['dice/sorting/p1/k2-s1']!)).toBe(true);
    expect(submitter.put('dice/sorting/p1/k2-s1', { value: 0.1, commit: 'x', seconds: 0 })).toBe(false);
    expect(await submitter.unit('dice/sorting/p1/k2-s1', async () => 0.9)).toBe(0.5);
  });

  it('putLog: a longer log (the finished one) replaces a stale partial one; a shorter one does not', () => {
    const worker = new ExperimentStore(join(scratch, 'w2'), FULL_EXPERIMENT);
    for (const step of [1, 2, 3]) worker.append('pretrain-sorting/steps', { step });
    expect(worker.usedLogs()).toEqual({ 'pretrain-sorting/steps': [{ step: 1 }, { step: 2 }, { step: 3 }] });
    const submitter = new ExperimentStore(join(scratch, 's2'), FULL_EXPERIMENT);
    submitter.append('pretrain-sorting/steps', { step: 1 });
    expect(submitter.putLog('pretrain-sorting/steps', worker.usedLogs()['pretrain-sorting/steps']!)).toBe(true);
    expect(submitter.lines('pretrain-sorting/steps')).toEqual([{ step: 1 }, { step: 2 }, { step: 3 }]);
    expect(submitter.putLog('pretrain-sorting/steps', [{ step: 1 }])).toBe(false);
    expect(submitter.lines('pretrain-sorting/steps')).toHaveLength(3);
  });
});
