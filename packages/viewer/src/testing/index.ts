export { CHROMIUM, launchChromium } from './browser';
export type { FineTuned, OpenedStudy } from './sparseMode';
export { annotateByThreshold, brushStroke, fineTuneAndPredict, openInSparseMode, scrollViewport, seriesLine, switchToMpr } from './sparseMode';
export type { WorkerBenchmark, WorkerHost } from './workerBenchmark';
export { benchmarkWorker, startWorkerHost } from './workerBenchmark';
export { checkKernelsInChromium } from './kernelChecks';
export type { CeilingProbe, ParallelCeiling, ParallelCeilings } from './parallelCeilings';
export { measureParallelCeilings } from './parallelCeilings';
