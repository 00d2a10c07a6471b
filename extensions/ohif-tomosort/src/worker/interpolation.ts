import { morphologicalContourInterpolation, setPipelinesBaseUrl } from '@itk-wasm/morphological-contour-interpolation';
import { interpolateWith } from '@tomosort/segment';
import type { Interpolate } from './jobs';

/**
 * Contour interpolation in the worker: ITK's browser build of the pipeline OHIF's own labelmap
 * interpolation runs, its wasm served by the viewer from `pipelinesUrl` (nothing from a CDN),
 * run in this thread (the worker is already off the viewer's).
 */
export function browserInterpolate(pipelinesUrl: string): Interpolate {
  setPipelinesBaseUrl(pipelinesUrl);
  return (a, classes) => interpolateWith((image, options) => morphologicalContourInterpolation(image, { ...options, webWorker: false }), a, classes);
}
