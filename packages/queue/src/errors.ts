/** Base class of @tomosort/queue's errors: messages start with the queue's URL or the job. */
export class QueueError extends Error {
  override name = 'QueueError';
}

/** Redis cannot be reached (refused, unknown host, timed out, wrong password): names the URL. */
export class QueueUnavailableError extends QueueError {
  override name = 'QueueUnavailableError';
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`${url}: cannot reach Redis (${reason})`);
  }
}

/** A queue URL that is not redis://HOST[:PORT][/DB], or one that holds credentials. */
export class QueueUrlError extends QueueError {
  override name = 'QueueUrlError';
}

/**
 * Thrown by a job handler when its input can never succeed (a corrupt series, a missing file):
 * the job fails at once with this message instead of being retried.
 */
export class PermanentJobFailure extends QueueError {
  override name = 'PermanentJobFailure';
}

export const isQueueError = (e: unknown): e is QueueError => e instanceof QueueError;
