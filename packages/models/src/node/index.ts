export { MODEL_JSON, WEIGHTS_BIN, fileHandler, loadModelFromDir, saveModelToDir } from './file';
