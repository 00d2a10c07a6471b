import { describe, expect, it } from 'vitest';
import { PacsArgumentError } from './errors';
import { mapConcurrent } from './pool';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('mapConcurrent', () => {
  it('10 items, concurrency 3: never more than 3 in flight, results in input order', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapConcurrent(Array.from({ length: 10 }, (_, i) => i), 3, async (x) => {
      peak = Math.max(peak, ++inFlight);
      await tick(5 + ((x * 7) % 4));
      inFlight--;
      return x * 2;
    });
    expect(out).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(peak).toBe(3);
  });

  it('the first failure stops new work, aborts the others and is rethrown after they settle', async () => {
    const started: number[] = [];
    const abortedSeen: number[] = [];
    const run = mapConcurrent([0, 1, 2, 3, 4, 5], 2, async (x, _i, signal) => {
      started.push(x);
      if (x === 1) throw new Error('item 1 failed');
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => (abortedSeen.push(x), resolve())));
      return x;
    });
    await expect(run).rejects.toThrow('item 1 failed');
    expect(started).toEqual([0, 1]);
    expect(abortedSeen).toEqual([0]);
  });

  it('an empty list gives []; concurrency 0 is a PacsArgumentError', async () => {
    expect(await mapConcurrent([], 4, async () => 1)).toEqual([]);
    await expect(mapConcurrent([1], 0, async () => 1)).rejects.toThrow(PacsArgumentError);
  });

  it('an already aborted signal rejects with its reason before any call', async () => {
    let calls = 0;
    const c = new AbortController();
    c.abort(new Error('stop'));
    await expect(mapConcurrent([1, 2], 2, async () => ++calls, c.signal)).rejects.toThrow('stop');
    expect(calls).toBe(0);
  });
});
