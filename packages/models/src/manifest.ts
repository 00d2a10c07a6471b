import { ManifestError, isModelError } from './errors';
import { validateModelSpec } from './model';
import type { ModelSpec } from './model';

/** The `format` of every tomosort model manifest. */
export const MANIFEST_FORMAT = 'tomosort-model';
/** The manifest version this build writes and reads. */
export const MANIFEST_VERSION = 1;

/** How the weights were obtained. */
export type TrainingMethod =
  /** SortingLoss pretext: ranking slices by their position along the body axis. */
  | 'sorting'
  /** SimCLR contrastive pretext (Chen et al. 2020). */
  | 'simclr'
  /** Barlow Twins pretext (Zbontar et al. 2021). */
  | 'barlow'
  /** Supervised from random initialisation (baseline). */
  | 'scratch'
  /** Supervised from a pre-trained encoder. */
  | 'finetune'
  /** The 3D proxy tasks of Taleb et al. 2020: rotation, relative patch location, jigsaw, exemplar (triplets), contrastive predictive coding. */
  | 'rotation3d'
  | 'rpl3d'
  | 'jigsaw3d'
  | 'exemplar3d'
  | 'cpc3d'
  /** CSPR: supervised 3D pre-training on labelled 2D images as depth-3 volumes (arXiv 2201.01426). */
  | 'cspr';

export const TRAINING_METHODS: readonly TrainingMethod[] = ['sorting', 'simclr', 'barlow', 'scratch', 'finetune', 'rotation3d', 'rpl3d', 'jigsaw3d', 'exemplar3d', 'cpc3d', 'cspr'];

/**
 * The anatomical plane a model's input slices are cut across (the words of `Plane` in
 * @tomosort/volume): its slice normal is the patient's z (axial), y (coronal) or x (sagittal) axis.
 */
export type ModelPlane =
  /** Slices across the body's long axis (normal: patient z, feet → head). */
  | 'axial'
  /** Front-to-back stack (normal: patient y, anterior → posterior). */
  | 'coronal'
  /** Right-to-left stack (normal: patient x, right → left). */
  | 'sagittal';

export const MODEL_PLANES: readonly ModelPlane[] = ['axial', 'coronal', 'sagittal'];

/**
 * What a saved model says about itself: stored as `modelTopology` of the tfjs artifacts
 * (model.json), beside `weightsManifest`.
 */
export interface ModelManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: typeof MANIFEST_VERSION;
  readonly method: TrainingMethod;
  /** The architecture; `createModel(architecture)` rebuilds the network. */
  readonly architecture: ModelSpec;
  /** Side of the square slices the model was trained on (pixels); a 3D model: of the slices its crops were cut from. */
  readonly inputSize: number;
  /** 3D models only: slices (depth) of the crops it was trained on — a proxy task's cube side, a 3D U-Net's crop depth. */
  readonly cropDepth?: number;
  /**
   * The plane its training slices were cut across. Absent only from manifests written before the
   * plane was recorded; read it through {@link manifestPlane}, which says what such a model means.
   */
  readonly plane?: ModelPlane;
  /** Intensity window applied to HU before the network (maps to [0, 1]). */
  readonly huWindow: { readonly center: number; readonly width: number };
  /**
   * In-plane millimetres per input pixel: slices reach the network at this fixed physical scale
   * (field of view inputSize · mmPerPixel, centred). Absent (older models): each slice's field of
   * view stretched to inputSize².
   */
  readonly mmPerPixel?: number;
  /**
   * How non-CT volumes reach the window: `{kind: 'modality', percentiles: [lo, hi]}` maps a
   * volume's robust [lo, hi] percentile range onto it (CT stays in HU). Absent: the default
   * rule (0.5–99.5), which is what older models' CT inputs got too.
   */
  readonly intensity?: { readonly kind: 'modality'; readonly percentiles: readonly [number, number] };
  /** Slice spacing the training volumes were resampled to (mm). */
  readonly sliceSpacingMm: number;
  /** Optimiser steps taken. */
  readonly steps: number;
  /** Final metrics by name (loss, accuracy, Dice, …). */
  readonly metrics: Readonly<Record<string, number>>;
  /** ISO 8601 time of saving. */
  readonly createdAt: string;
  /**
   * Segmentation models only: what output channel c ≥ 1 means (channel 0 is background), as the
   * label value written in label maps and SEGs, and a name.
   */
  readonly classes?: readonly ModelClass[];
  /** sha-256 (lower-case hex) of the weight bytes (weights.bin). */
  readonly checksum: string;
}

/** One output class of a segmentation model. */
export interface ModelClass {
  /** Label value (1..255). */
  readonly value: number;
  readonly name: string;
}

/** The manifest fields the caller gives when saving; the rest is filled in by `saveModel`. */
export interface ManifestInit {
  /** Required for U-Net models: one entry per foreground channel. */
  readonly classes?: readonly ModelClass[];
  readonly method: TrainingMethod;
  readonly inputSize: number;
  /** 3D models: slices per crop. */
  readonly cropDepth?: number | undefined;
  /** The plane the training slices were cut across (no default: a model must say). */
  readonly plane: ModelPlane;
  readonly huWindow: { readonly center: number; readonly width: number };
  readonly mmPerPixel?: number | undefined;
  readonly intensity?: { readonly kind: 'modality'; readonly percentiles: readonly [number, number] } | undefined;
  readonly sliceSpacingMm: number;
  readonly steps: number;
  /** Default `{}`. */
  readonly metrics?: Readonly<Record<string, number>>;
  /** Default: now. */
  readonly createdAt?: string;
}

/** Throws {@link ManifestError} unless `m` is a manifest this build can read. */
export function validateManifest(m: unknown): asserts m is ModelManifest {
  const bad = (why: string): never => {
    throw new ManifestError(`model.json is not a readable tomosort model manifest: ${why}`);
  };
  if (!m || typeof m !== 'object' || Array.isArray(m)) bad('modelTopology is not an object');
  const x = m as Record<string, unknown>;
  if (x.format !== MANIFEST_FORMAT) bad(`format is ${JSON.stringify(x.format)}, expected "${MANIFEST_FORMAT}"`);
  if (x.version !== MANIFEST_VERSION) bad(`version ${JSON.stringify(x.version)} is not supported (this build reads version ${MANIFEST_VERSION})`);
  if (!TRAINING_METHODS.includes(x.method as TrainingMethod)) bad(`method ${JSON.stringify(x.method)} is not one of ${TRAINING_METHODS.join(', ')}`);
  const num = (k: string, ok: (v: number) => boolean) => {
    if (typeof x[k] !== 'number' || !ok(x[k] as number)) bad(`${k} is ${JSON.stringify(x[k])}`);
  };
  num('inputSize', (v) => Number.isInteger(v) && v > 0);
  if (x.cropDepth !== undefined) num('cropDepth', (v) => Number.isInteger(v) && v > 0);
  if (x.plane !== undefined && !MODEL_PLANES.includes(x.plane as ModelPlane)) bad(`plane ${JSON.stringify(x.plane)} is not one of ${MODEL_PLANES.join(', ')}`);
  num('sliceSpacingMm', (v) => v > 0);
  num('steps', (v) => Number.isInteger(v) && v >= 0);
  const w = x.huWindow as Record<string, unknown> | undefined;
  if (!w || typeof w.center !== 'number' || typeof w.width !== 'number' || !(w.width > 0)) bad(`huWindow is ${JSON.stringify(w)}, expected {center, width > 0}`);
  if (x.mmPerPixel !== undefined) num('mmPerPixel', (v) => v > 0 && Number.isFinite(v));
  if (x.intensity !== undefined) {
    const i = x.intensity as Record<string, unknown> | null;
    const p = i?.percentiles;
    const ok = i?.kind === 'modality' && Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && v >= 0 && v <= 100) && (p[0] as number) < (p[1] as number);
    if (!ok) bad(`intensity is ${JSON.stringify(x.intensity)}, expected {kind: "modality", percentiles: [lo, hi] with 0 ≤ lo < hi ≤ 100}`);
  }
  if (!x.metrics || typeof x.metrics !== 'object' || Object.values(x.metrics).some((v) => typeof v !== 'number')) bad('metrics must map names to numbers');
  if (typeof x.createdAt !== 'string') bad('createdAt must be an ISO date string');
  if (typeof x.checksum !== 'string' || !/^[0-9a-f]{64}$/.test(x.checksum)) bad(`checksum ${JSON.stringify(x.checksum)} is not a sha-256 hex digest`);
  try {
    validateModelSpec(x.architecture);
  } catch (e) {
    if (isModelError(e)) bad(`architecture: ${e.message}`);
    throw e;
  }
  const spec = x.architecture as ModelSpec;
  if (x.cropDepth !== undefined && spec.encoder.dims !== 3) bad(`cropDepth is for 3D models; this one's encoder ${spec.encoder.name} is 2D`);
  if (spec.kind === 'unet') {
    const classes = x.classes;
    const want = spec.decoder.classes - 1;
    if (!Array.isArray(classes) || classes.length !== want) bad(`a U-Net with ${want + 1} output channels needs ${want} classes, got ${JSON.stringify(classes)}`);
    const values = new Set<number>();
    for (const c of classes as unknown[]) {
      const { value, name } = (c ?? {}) as Record<string, unknown>;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 255 || typeof name !== 'string' || values.has(value)) {
        bad(`class ${JSON.stringify(c)} must be {value: distinct integer 1..255, name: string}`);
      }
      values.add(value as number);
    }
  } else if (x.classes !== undefined) bad(`only U-Net models have classes, this is a ${spec.kind} model`);
}

/** What {@link manifestPlane} found. */
export interface ManifestPlane {
  /** The plane, or undefined where it cannot be known (a U-Net saved before planes were recorded). */
  readonly plane: ModelPlane | undefined;
  /** False when the manifest does not record it and `plane` is what such a model meant. */
  readonly recorded: boolean;
}

/**
 * The plane a model's training slices were cut across. Manifests written before the plane was
 * recorded lack it: an encoder (score or projection model) of that time was pre-trained on axial
 * slices (the default of `tomosort pretrain` and the viewer's only plane), so it reads as axial; a
 * U-Net of that time was trained along its series' own slice axis, which the manifest does not
 * name, so its plane is undefined. `recorded` tells the caller to say that it assumed.
 */
export function manifestPlane(m: ModelManifest): ManifestPlane {
  if (m.plane !== undefined) return { plane: m.plane, recorded: true };
  return { plane: m.architecture.kind === 'unet' ? undefined : 'axial', recorded: false };
}
