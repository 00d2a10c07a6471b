export { CHROMIUM, launchChromium } from './browser';
export type { FineTuned, OpenedStudy } from './sparseMode';
export { annotateByThreshold, fineTuneAndPredict, openInSparseMode, scrollViewport, seriesLine } from './sparseMode';
