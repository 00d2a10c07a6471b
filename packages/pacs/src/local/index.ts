export type { OrthancConfig, OrthancLayout } from './config';
export { STORAGE_SUBDIR, orthancConfig } from './config';
export { INSTALL_HINT, LocalOrthancError, isLocalOrthancError } from './errors';
export type { LocalOrthanc, StartOrthancOptions } from './launcher';
export { DEFAULT_START_TIMEOUT_MS, startOrthanc } from './launcher';
export { findDicomWebPlugin, findOrthancBinary } from './locate';
export type { StopOptions, StopOutcome } from './pid';
export { DEFAULT_STOP_TIMEOUT_MS, isPidAlive, stopOrthancPid, waitForPidExit } from './pid';
export { freePort } from './port';
