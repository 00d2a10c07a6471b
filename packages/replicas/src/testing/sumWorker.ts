// A replica in a worker_thread for group.test.ts: sums what it is told to, posts the results.
import { parentPort, workerData } from 'node:worker_threads';
import { ReplicaGroup } from '../group';
import type { ReplicaShared } from '../group';

const { shared, rank, rounds, length, failAt } = workerData as { shared: ReplicaShared; rank: number; rounds: number; length: number; failAt?: number };
const group = new ReplicaGroup(shared, rank, { timeoutMs: 10_000 });
const results: number[][] = [];
try {
  for (let r = 0; r < rounds; r++) {
    if (r === failAt) {
      group.fail();
      throw new Error(`replica ${rank} failed on purpose at round ${r}`);
    }
    // Values no two replicas share, whose float sum depends on the order of addition.
    const v = Float32Array.from({ length }, (_, i) => (rank + 1) * 0.1 + i * 1e-7 * (r + 1) + (rank === 0 ? 1e7 : 0));
    results.push(Array.from(group.sum(v)));
  }
  parentPort!.postMessage({ ok: true, results });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: String(e), results });
}
