import { ASSETS_PATH, DICOMWEB_PATH } from '@tomosort/ohif-extension/ids';
import type { CpuSettings } from '@tomosort/ohif-extension/worker/protocol';

/**
 * OHIF's app-config.js: Orthanc through the same-origin /dicom-web proxy (absolute URLs from the
 * page's own origin, so the browser never talks to Orthanc nor sees its credentials), and our
 * extension and mode given as module URLs: OHIF imports them at run time and uses their default
 * exports, so the published viewer is not rebuilt. `cpu` reaches our panel as
 * `window.config.tomosort.cpu` (OHIF ignores the key): how its training worker uses the CPU.
 */
export function appConfigScript(cpu: CpuSettings = {}): string {
  return `// Written by tomosort viewer.
(function () {
  var root = window.location.origin + '${DICOMWEB_PATH}';
  window.config = {
    name: 'tomosort',
    routerBasename: null,
    extensions: [window.location.origin + '${ASSETS_PATH}/extension.mjs'],
    modes: [window.location.origin + '${ASSETS_PATH}/mode.mjs'],
    customizationService: {},
    tomosort: { cpu: ${JSON.stringify(cpu)} },
    showStudyList: true,
    maxNumberOfWebWorkers: 3,
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: true,
    showLoadingIndicator: true,
    strictZSpacingForVolumeViewport: true,
    groupEnabledModesFirst: true,
    maxNumRequests: { interaction: 100, thumbnail: 5, prefetch: 25 },
    showErrorDetails: 'always',
    investigationalUseDialog: { option: 'never' },
    defaultDataSourceName: 'orthanc',
    dataSources: [
      {
        namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
        sourceName: 'orthanc',
        configuration: {
          friendlyName: 'Orthanc (through tomosort)',
          name: 'orthanc',
          wadoUriRoot: root,
          qidoRoot: root,
          wadoRoot: root,
          qidoSupportsIncludeField: false,
          imageRendering: 'wadors',
          thumbnailRendering: 'wadors',
          enableStudyLazyLoad: true,
          supportsFuzzyMatching: false,
          supportsWildcard: true,
          supportsReject: false,
          dicomUploadEnabled: false,
          omitQuotationForMultipartRequest: true,
          bulkDataURI: { enabled: true, relativeResolution: 'studies' },
        },
      },
    ],
  };
})();
`;
}
