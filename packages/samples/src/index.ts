export { SampleError, SampleOptionError, SampleUnavailableError, isSampleError } from './errors';
export { CRANIUM_PATH, loadCranium } from './cranium';
export type { Colin27Class, Colin27Image, Colin27Sample, LoadColin27Options } from './colin27';
export { COLIN27_CLASSES, COLIN27_SAMPLE, MRICRON_TEMPLATES, aalClassTable, colin27ClassOfAal, loadColin27 } from './colin27';
export type { PhantomOrgan, PhantomOrganName } from './phantom/anatomy';
export { PHANTOM_ORGANS, PHANTOM_ORGAN_ID } from './phantom/anatomy';
export type { PhantomCohortOptions, PhantomParams, PhantomSubject } from './phantom/phantom';
export { phantomCohort, phantomSubject } from './phantom/phantom';
