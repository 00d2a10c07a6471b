import { PARALLEL_MODES } from './worker/protocol';
import type { CpuSettings, Parallel } from './worker/protocol';

/**
 * The deployment's CPU settings from OHIF's `window.config` (`tomosort.cpu`, written by
 * `tomosort viewer --cpu-threads/--cpu-parallel`): a whole thread count ≥ 1 and 'threads' or
 * 'replicas'; anything else is left out (the worker's defaults apply).
 */
export function cpuSettingsFrom(config: unknown): CpuSettings {
  const cpu = (config as { tomosort?: { cpu?: { threads?: unknown; parallel?: unknown } } } | undefined)?.tomosort?.cpu;
  const threads = cpu?.threads;
  const parallel = cpu?.parallel;
  return {
    ...(typeof threads === 'number' && Number.isInteger(threads) && threads >= 1 ? { threads } : {}),
    ...(PARALLEL_MODES.includes(parallel as Parallel) ? { parallel: parallel as Parallel } : {}),
  };
}

/** {@link cpuSettingsFrom} of this page's OHIF config. */
export function deploymentCpu(): CpuSettings {
  return cpuSettingsFrom((globalThis as { config?: unknown }).config);
}
