/** The extension's id: its panel is `${EXTENSION_ID}.panelModule.${PANEL_NAME}`. */
export const EXTENSION_ID = '@tomosort/ohif-extension';
export const PANEL_NAME = 'sparse';
/** The mode's id, and its route: /tomosort-sparse?StudyInstanceUIDs=… */
export const MODE_ID = '@tomosort/mode-sparse';
export const MODE_ROUTE = 'tomosort-sparse';
/** Where `tomosort viewer` serves the bundles, the model store and the DICOMweb proxy (same origin). */
export const ASSETS_PATH = '/tomosort';
/** ITK's contour interpolation pipeline (its .js and .wasm.zst), under the assets. */
export const ITK_PIPELINES_PATH = `${ASSETS_PATH}/itk`;
export const MODELS_PATH = '/tomosort-models';
export const DICOMWEB_PATH = '/dicom-web';
