export { LocalizeError } from './errors';
export type { OrderFinding } from './order';
export { GAP_FACTOR, REVERSED_RHO, SHUFFLE_Z, checkSliceOrder } from './order';
export type { SliceScorer } from './score';
export { scoreVolume } from './score';
export type { ScoreMap } from './scoreMap';
export { MIN_REFERENCE_RHO, fitScoreMap, isotonic, median } from './scoreMap';
export type { StackLocation } from './stack';
export { localizeStack } from './stack';
