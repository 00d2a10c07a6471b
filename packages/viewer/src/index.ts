export { appConfigScript } from './appConfig';
export { BUNDLES, buildExtensionBundles } from './bundle';
export { ViewerError, isViewerError } from './errors';
export type { ProxyTarget, ViewerServer, ViewerServerOptions } from './server';
export { modelIndex, startViewerServer } from './server';
