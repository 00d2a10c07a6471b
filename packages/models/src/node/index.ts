export { MODEL_JSON, RUN_MODEL_DIR, WEIGHTS_BIN, fileHandler, findModelDir, loadModelFromDir, saveModelToDir, syncDir } from './file';
