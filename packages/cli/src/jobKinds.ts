/**
 * The kinds of job `tomosort worker` runs, in a module of their own so that a worker loads the
 * code of a kind (the experiment's: tfjs, the native kernels) only when such a job arrives.
 */
export const PREPARE_JOB = 'prepare-series';
export const EXPERIMENT_JOB = 'experiment-share';
