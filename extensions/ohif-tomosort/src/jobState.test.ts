import { describe, expect, it } from 'vitest';
import { IDLE, isStale, jobReducer } from './jobState';
import type { JobState } from './jobState';
import type { FromWorker } from './worker/protocol';

const run = (s: JobState, ...ms: Parameters<typeof jobReducer>[1][]): JobState => ms.reduce(jobReducer, s);
const progress = (phase: string, step: number, loss: number): FromWorker => ({ type: 'progress', phase, step, steps: 4, loss, etaSeconds: 4 - step, stepsPerSecond: 2 });

describe("the panel's job state: one reducer over the worker's messages", () => {
  it('a fine-tune from the train section: running with its phase and losses, then done with its outcome, quality and intensity', () => {
    const before: JobState = { ...IDLE, quality: 'old', exported: '1.2.3', scored: { rho: 1, order: [], blank: 0, bySop: new Map(), n: 0 } };
    const posted = run(before, { type: 'posted', id: 7, section: 'train', job: 'finetune' });
    // A new fine-tune replaces the last one's quality and export; the order check stays.
    expect(posted).toMatchObject({ jobId: 7, section: 'train', quality: undefined, exported: undefined, training: { state: 'idle' } });
    expect(posted.scored).toBe(before.scored);
    const status = run(posted, { type: 'status', message: 'Loading the series from the PACS…' });
    expect(status.training).toEqual({ state: 'running', message: 'Loading the series from the PACS…', step: 0, steps: 0, loss: Number.NaN, eta: 0, stepsPerSecond: 0, losses: [] });
    const training = run(status, progress('frozen', 1, 0.9), progress('full', 2, 0.7), progress('quality', 3, 0.8));
    expect(training.training).toEqual({ state: 'running', message: 'Quality estimate', step: 3, steps: 4, loss: 0.8, eta: 1, stepsPerSecond: 2, losses: [0.9, 0.7, 0.8] });
    expect(run(status, progress('frozen', 1, 0.9)).training).toMatchObject({ message: 'Decoder warm-up' });
    expect(run(status, progress('full', 1, 0.9)).training).toMatchObject({ message: 'Fine-tuning' });
    const predicted = run(training, {
      type: 'predicted',
      slices: [{ sopInstanceUID: '9', labels: new Uint8Array(4) }],
      trainSeconds: 2,
      qualitySeconds: 1,
      seconds: 3.5,
      steps: 4,
      cancelled: false,
      quality: { kind: 'skipped', reason: 'off' },
      size: 64,
      intensity: 'CT as HU',
      compute: { backend: 'wasm (SIMD, 1 thread)', msPerStep: 250, gflopPerStep: 0.5 },
    });
    expect(predicted.training).toEqual({
      state: 'done',
      message: 'Trained 4 steps in 2.0 s (2.00 steps/s); predicted 1 other slice(s) in 0.5 s (shown as "tomosort prediction", proposed: accept the ones to export).',
      losses: [0.9, 0.7, 0.8],
    });
    expect(predicted).toMatchObject({ section: 'train', quality: 'No quality estimate (folds set to 0).', intensity: 'Intensities: CT as HU.', compute: { msPerStep: 250 } });
    // The next fine-tune clears it.
    expect(run(predicted, { type: 'posted', id: 8, section: 'train', job: 'finetune' }).compute).toBeUndefined();
  });

  it('an error ends the job; the order check ranks the scores; a SEG list, an export and a panel-worded finish are kept', () => {
    expect(run(IDLE, { type: 'status', message: 'x' }, { type: 'error', message: 'bad' }).training).toEqual({ state: 'idle' });
    const scored = run(IDLE, { type: 'posted', id: 1, section: 'localize', job: 'score' }, {
      type: 'scored',
      scores: [
        { sopInstanceUID: 'a', score: 2, positionMm: 0 },
        { sopInstanceUID: '', score: 9, positionMm: 5 },
        { sopInstanceUID: 'b', score: -1, positionMm: 10 },
      ],
      rho: -0.5,
      order: [],
      blankSlices: 1,
    });
    expect(scored.section).toBe('localize');
    expect(scored.training).toMatchObject({ state: 'done', message: 'Scored 3 axial slice(s).' });
    expect(scored.scored).toMatchObject({ rho: -0.5, blank: 1, n: 3 });
    // Ranked by score among all slices; slices with no instance (reslices) have no entry.
    expect([...scored.scored!.bySop]).toEqual([
      ['b', { score: -1, rank: 0 }],
      ['a', { score: 2, rank: 1 }],
    ]);
    const segs = run(IDLE, { type: 'segs', segs: [{ seriesInstanceUID: 's', description: 'd', segments: ['head'], slices: 2 }], skipped: ['t: not a SEG'] });
    expect(segs.training).toMatchObject({ message: '1 stored annotation(s) of this series in the PACS: load one to continue from it. Left out: t: not a SEG' });
    expect(run(segs, { type: 'segAdopted', message: 'Loaded.' })).toMatchObject({ storedSegs: undefined, training: { state: 'done', message: 'Loaded.' } });
    expect(run(IDLE, { type: 'exported', seriesInstanceUID: '7', sopInstanceUID: '8', frames: 3 })).toMatchObject({ exported: '7', training: { message: 'Stored a DICOM SEG with 3 frame(s) in the PACS as a new series.' } });
    expect(run(IDLE, { type: 'finished', message: 'Matched.' }).training).toEqual({ state: 'done', message: 'Matched.', losses: [] });
    // Messages whose words need the viewer leave the state as it is.
    const matched: FromWorker = { type: 'matched', referenceSeriesInstanceUID: 'r', referenceRho: 0.9, matches: [] };
    expect(jobReducer(segs, matched)).toBe(segs);
  });

  it("a message of a job other than the one posted last changes nothing; messages without a job id (ready) pass", () => {
    const posted = run(IDLE, { type: 'posted', id: 2, section: 'train', job: 'finetune' }, { type: 'status', message: 'now', jobId: 2 });
    expect(posted.training).toMatchObject({ state: 'running', message: 'now' });
    // A late word of job 1 (cancelled before 2 was posted): neither its progress nor its outcome lands.
    expect(run(posted, { ...progress('full', 3, 0.5), jobId: 1 }, { type: 'error', message: 'late', jobId: 1 })).toBe(posted);
    expect(jobReducer(posted, { type: 'exported', seriesInstanceUID: 'x', sopInstanceUID: 'y', frames: 1, jobId: 1 })).toBe(posted);
    expect(jobReducer(posted, { ...progress('full', 3, 0.5), jobId: 2 }).training).toMatchObject({ step: 3 });
    expect(isStale(2, { type: 'ready', backend: 'wasm', fallbacks: [] })).toBe(false);
    expect(isStale(undefined, { type: 'status', message: 'x', jobId: 1 })).toBe(true);
  });
});
