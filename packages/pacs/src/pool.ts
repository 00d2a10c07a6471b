import { PacsArgumentError } from './errors';
import { linkSignals } from './signals';

/**
 * Maps `fn` over `items` with at most `concurrency` calls in flight; results keep input order.
 * On the first failure no new call starts, the calls in flight get an aborted signal, and after
 * they settle the first error is thrown. Aborting `signal` rejects with its reason.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number, signal: AbortSignal) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new PacsArgumentError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  signal?.throwIfAborted();
  const link = linkSignals([signal]);
  const combined = link.signal;
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && !combined.aborted && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i, combined);
      } catch (e) {
        if (!failed) {
          failed = true;
          firstError = e;
          link.abort(e);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  } finally {
    link.dispose();
  }
  if (failed) throw signal?.aborted ? signal.reason : firstError;
  signal?.throwIfAborted();
  return results;
}
