export { CONNECT_TIMEOUT_MS, REDIS_PASSWORD_ENV, REDIS_USER_ENV, connectRedis, displayUrl, redisOptions } from './connection';
export { PermanentJobFailure, QueueError, QueueUnavailableError, QueueUrlError, isQueueError } from './errors';
export { DEFAULT_QUEUE_NAME, checkJobId } from './jobs';
export type { JobOutcome, JobSpec } from './jobs';
export { submitJobs } from './submit';
export type { SubmitOptions, SubmitProgress } from './submit';
export { DEFAULT_LOCK_MS, startWorker } from './worker';
export type { JobContext, JobHandler, RunningWorker, WorkerEvent, WorkerOptions } from './worker';
