import { describe, expect, it } from 'vitest';
import { ReplicaError, ReplicaGroup, createReplicaShared } from './group';
import type { ReplicaShared } from './group';
import { tsWorker } from './testing/tsWorker';

interface Reply {
  readonly ok: boolean;
  readonly error?: string;
  readonly results: number[][];
}

/** Runs `size` replicas of testing/sumWorker.ts in worker_threads (TypeScript through tsx). */
function runReplicas(shared: ReplicaShared, rounds: number, length: number, failAt?: { rank: number; round: number }): Promise<Reply[]> {
  return Promise.all(
    Array.from({ length: shared.size }, (_, rank) => {
      const worker = tsWorker(new URL('./testing/sumWorker.ts', import.meta.url), { shared, rank, rounds, length, ...(failAt?.rank === rank ? { failAt: failAt.round } : {}) });
      return new Promise<Reply>((resolve, reject) => {
        worker.once('message', (m: Reply) => void worker.terminate().then(() => resolve(m)));
        worker.once('error', reject);
      });
    }),
  );
}

describe('a replica group', () => {
  it('gives every replica the same bits: the sum in rank order, round after round', async () => {
    const shared = createReplicaShared(3, 64);
    const replies = await runReplicas(shared, 50, 64);
    for (const r of replies) expect(r.ok).toBe(true);
    for (let round = 0; round < 50; round++) {
      const want = Array.from({ length: 64 }, (_, i) => {
        const v = (rank: number) => Math.fround((rank + 1) * 0.1 + i * 1e-7 * (round + 1) + (rank === 0 ? 1e7 : 0));
        return Math.fround(Math.fround(v(0) + v(1)) + v(2));
      });
      for (const r of replies) expect(r.results[round]).toEqual(want);
    }
  });
  it('stops the others with a ReplicaError when one fails, instead of hanging', async () => {
    const shared = createReplicaShared(3, 8);
    const replies = await runReplicas(shared, 10, 8, { rank: 1, round: 4 });
    expect(replies[1]!.error).toMatch(/failed on purpose at round 4/);
    for (const r of [replies[0]!, replies[2]!]) {
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/ReplicaError: replica \d: another replica failed/);
      // Rounds 0–3 were summed by all; a replica may see the failure as it leaves round 3's barrier.
      expect(r.results.length).toBeGreaterThanOrEqual(3);
      expect(r.results.length).toBeLessThanOrEqual(4);
    }
  });
  it('times out when a replica never comes', () => {
    const group = new ReplicaGroup(createReplicaShared(2, 4), 0, { timeoutMs: 200 });
    expect(() => group.sum(new Float32Array(4))).toThrow(/the other replicas did not reach barrier 1 within 0.2 s/);
  });
  it('refuses sums beyond its capacity and ranks outside the group', () => {
    const shared = createReplicaShared(2, 4);
    expect(() => new ReplicaGroup(shared, 2)).toThrow(ReplicaError);
    expect(() => new ReplicaGroup(shared, 0).sum(new Float32Array(5))).toThrow(/5 values exceeds the group's capacity of 4/);
    expect(() => createReplicaShared(0, 4)).toThrow(/replicas ≥ 1/);
  });
  it('of one replica returns the values unchanged, with no shared wait', () => {
    const group = new ReplicaGroup(createReplicaShared(1, 3), 0);
    expect(Array.from(group.sum(Float32Array.of(1, 2, 3)))).toEqual([1, 2, 3]);
    expect(group.gather(Float32Array.of(4, 5)).map((v) => Array.from(v))).toEqual([[4, 5]]);
    expect(group.waitedMs).toBe(0);
  });
});
