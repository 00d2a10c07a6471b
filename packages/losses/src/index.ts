export { DtypeError, LossError, OptionError, ShapeError, isLossError } from './errors';
export type { SortingDistance, SortingLossOptions, SortingRanking } from './sorting';
export { DEFAULT_SORTING_LOSS, SORTING_RANKINGS, sortingDistanceTerm, sortingLoss, spearman } from './sorting';
export type { NtXentOptions } from './ntxent';
export { DEFAULT_NT_XENT_TEMPERATURE, ntXentLoss } from './ntxent';
export type { BarlowTwinsOptions } from './barlow';
export { DEFAULT_BARLOW_EPS, DEFAULT_BARLOW_LAMBDA, barlowTwinsLoss } from './barlow';
export type { DiceLossOptions, SegmentationLossOptions, SegmentationTarget } from './segmentation';
export { DEFAULT_DICE_SMOOTH, crossEntropyLoss, diceLoss, diceScore } from './segmentation';
