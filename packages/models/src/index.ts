export type { WeightProblem } from './errors';
export {
  ChecksumError,
  ManifestError,
  ModelError,
  ModelIOError,
  ShapeError,
  SpecError,
  UnknownVariableError,
  WeightsMismatchError,
  formatShape,
  isModelError,
} from './errors';
export type { Initializer, Random } from './init';
export { kaimingNormalConv, normal, ones, randomFor, torchDefault, uniform, zeros } from './init';
export type { AssignOptions, ConvGradients, NamedArray } from './params';
export { Params, isStatistic } from './params';
export type { ApplyOptions, Conv2dConfig } from './layers';
export { BatchNorm, Conv2d, Conv3d, Gru, Linear, StatUpdates } from './layers';
export type { BlockKind, EncoderFeatures, EncoderPreset, EncoderSpec, StageSpec, StemSpec } from './resnet';
export {
  BLOCK_EXPANSION,
  ENCODER_PRESETS,
  ResNetEncoder,
  encoderSpec,
  featureDim,
  featureStrides,
  stageChannels,
  validateEncoderSpec,
} from './resnet';
export type { CpcHeadSpec, PatchClassifierSpec } from './proxyHeads';
export { CpcHead, PatchClassifierHead, validateCpcHeadSpec, validatePatchClassifierSpec } from './proxyHeads';
export type { ProjectionHeadSpec } from './heads';
export { ProjectionHead, ScoreHead, validateProjectionHeadSpec } from './heads';
export type { ClassifierInput, DecoderLevel, SkipSource, UNetDecoderSpec, Upsample } from './unet';
export { UNetDecoder, decoderLevels, unetDecoderSpec, validateUNetDecoderSpec } from './unet';
export type {
  ClassifierModelSpec,
  CpcModelSpec,
  CreateModelOptions,
  Model,
  ModelKind,
  ModelOutput,
  ModelSpec,
  ProjectionModelSpec,
  ScoreModelSpec,
  UNetModelSpec,
} from './model';
export {
  classifierModelSpec,
  cpcModelSpec,
  createModel,
  expectKind,
  projectionModelSpec,
  scoreFromEncoder,
  scoreModelSpec,
  unetFromEncoder,
  unetModelSpec,
  validateModelSpec,
} from './model';
export type { ForwardCost, LayerCost, MapShape } from './cost';
export { forwardCost } from './cost';
export type { ManifestInit, ManifestPlane, ModelClass, ModelManifest, ModelPlane, TrainingMethod } from './manifest';
export { MANIFEST_FORMAT, MANIFEST_VERSION, MODEL_PLANES, TRAINING_METHODS, manifestPlane, validateManifest } from './manifest';
export type { LoadedModel, ModelSource } from './io';
export { GENERATED_BY, loadModel, loadWeightsInto, modelArtifacts, saveModel, sha256Hex } from './io';
export type { NamedBlob } from './filesHandler';
export { filesHandler } from './filesHandler';
