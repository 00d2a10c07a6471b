import { QueueError } from './errors';

/** The queue every tomosort command and worker share, unless told otherwise. */
export const DEFAULT_QUEUE_NAME = 'tomosort';

/** One unit of work: `kind` picks the worker's handler; `data` is plain JSON (never a secret: Redis is inspectable). */
export interface JobSpec {
  /** Stable id (same work, same id), so re-submitting joins a job still queued instead of doubling it. */
  readonly id: string;
  readonly kind: string;
  readonly data: unknown;
}

/** How a submitted job ended. */
export type JobOutcome =
  | { readonly id: string; readonly kind: string; readonly status: 'completed'; readonly result: unknown }
  | { readonly id: string; readonly kind: string; readonly status: 'failed'; readonly reason: string };

const JOB_ID = /^[A-Za-z0-9._-]+$/;

/** BullMQ refuses ':' and integer ids; tomosort's ids are words of [A-Za-z0-9._-] with a letter in them. */
export function checkJobId(id: string): void {
  if (!JOB_ID.test(id) || /^\d+$/.test(id)) throw new QueueError(`job id "${id}" must be made of letters, digits, '.', '_' and '-' (and not be a number)`);
}
