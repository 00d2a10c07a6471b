export { SampleError, SampleOptionError, SampleUnavailableError, isSampleError } from './errors';
export { CRANIUM_PATH, loadCranium } from './cranium';
export type { PhantomOrgan, PhantomOrganName } from './phantom/anatomy';
export { PHANTOM_ORGANS, PHANTOM_ORGAN_ID } from './phantom/anatomy';
export type { PhantomCohortOptions, PhantomParams, PhantomSubject } from './phantom/phantom';
export { phantomCohort, phantomSubject } from './phantom/phantom';
export type { Rng } from './prng';
export { fillGaussian, mixSeed, mulberry32, uniform, uniformInt } from './prng';
