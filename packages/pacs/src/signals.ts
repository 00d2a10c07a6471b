/**
 * An AbortSignal that follows several sources and an optional timer. Built on listeners that the
 * sources hold strongly rather than on AbortSignal.any/AbortSignal.timeout, whose composites are
 * held weakly in Node 20 and may be garbage-collected while a request is in flight.
 */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** True when the timer, not a source, aborted the signal. */
  readonly timedOut: boolean;
  /** Aborts the linked signal with `reason`. */
  abort(reason: unknown): void;
  /** Stops the timer and detaches from the sources (call when the guarded work is over). */
  dispose(): void;
}

/** Links `sources` (undefined ones skipped) and, when `timeoutMs` is finite, a timer into one signal. */
export function linkSignals(sources: readonly (AbortSignal | undefined)[], timeoutMs = Infinity): LinkedSignal {
  const controller = new AbortController();
  const detach: (() => void)[] = [];
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  for (const s of sources) {
    if (!s) continue;
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    const onAbort = (): void => controller.abort(s.reason);
    s.addEventListener('abort', onAbort, { once: true });
    detach.push(() => s.removeEventListener('abort', onAbort));
  }
  if (!controller.signal.aborted && Number.isFinite(timeoutMs)) {
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError'));
    }, timeoutMs);
  }
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    abort: (reason) => controller.abort(reason),
    dispose() {
      clearTimeout(timer);
      for (const d of detach) d();
      detach.length = 0;
    },
  };
}

/** Resolves after `ms`, or rejects with `signal.reason` as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
