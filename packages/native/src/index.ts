export type { NativeAddon } from './addon';
export { ConvKind, NATIVE_ADDON_PATH, NATIVE_SWITCH, PoolKind, addonPath, loadAddon } from './addon';
export { NativeError, NativeKernelError, NativeUnavailableError, isNativeError } from './errors';
export type { NodeBackendInfo, NodeBackendName } from './init';
export { NODE_BACKEND_NAMES, THREADS_VARIABLE, initNativeBackend, isNodeBackendName, nativeThreads, startNodeBackend } from './init';
export { installNativeKernels, nativeKernelConfigs, nativeKernelsInstalled, uninstallNativeKernels } from './registry';
export { conv2dParams, conv3dParams } from './kernels/conv';
export { pool2dParams, pool3dParams } from './kernels/pool';
