// Batches of the five 3D self-supervised proxy tasks of Taleb et al. 2020 ("3D Self-Supervised
// Methods for Medical Imaging", NeurIPS; code HealthML/self-supervised-3d-tasks), drawn from
// prepared volumes as cubes of isotropic voxels (cube.ts).
import { mulberry32, uniform } from '@tomosort/random';
import type { Rng } from '@tomosort/random';
import type { HuWindow } from '@tomosort/volume';
import { applyWindow } from '@tomosort/volume';
import { CUBE_ROTATIONS, affineCube, cropCube, gridPatches, gridSide, rotateCube } from './cube';
import type { Cube, PatchGrid } from './cube';
import { PretextError } from './errors';
import { pickVolumes } from './pick';
import type { PreparedVolume } from './prepare';

/**
 * N samples of K cubes each, sample-major: `images` is `[N·K, P, P, P, 1]` (channels last, as
 * the 3D encoders take), values in [0, 1] of the window; `labels[n]` is sample n's class where
 * the task has one (−1 otherwise).
 */
export interface CubeBatch {
  readonly images: Float32Array;
  readonly shape: readonly [number, number, number, number, number];
  /** K: cubes per sample (1 rotation, 2 RPL, 27 jigsaw, 3 exemplar, grid³ CPC). */
  readonly perSample: number;
  readonly labels: Int32Array;
}

function pack(samples: readonly (readonly Cube[])[], labels: readonly number[]): CubeBatch {
  const p = samples[0]![0]!.side;
  const k = samples[0]!.length;
  const images = new Float32Array(samples.length * k * p ** 3);
  samples.flat().forEach((c, i) => images.set(c.data, i * p ** 3));
  return { images, shape: [samples.length * k, p, p, p, 1], perSample: k, labels: Int32Array.from(labels) };
}

function checkSamples(n: number, min = 1): void {
  if (!Number.isInteger(n) || n < min) throw new PretextError(`samples must be an integer ≥ ${min}, got ${n}`);
}

const windowed = (c: Cube, window: HuWindow): Cube => ({ side: c.side, data: applyWindow(c.data, window) });

/** How a rotation batch is drawn. */
export interface RotationBatchConfig {
  readonly samples: number;
  /** Cube side, voxels (Taleb et al.: 128). */
  readonly side: number;
  readonly window: HuWindow;
}

/**
 * 3D rotation prediction: a cube per sample, rotated by a uniformly drawn label of
 * {@link CUBE_ROTATIONS} (`rotateCube`); the net predicts the label (10-way).
 */
export function rotationBatch(volumes: readonly PreparedVolume[], cfg: RotationBatchConfig, rng: Rng): CubeBatch {
  checkSamples(cfg.samples);
  const labels: number[] = [];
  const samples = pickVolumes(volumes, cfg.samples, rng).map((v) => {
    const r = Math.floor(rng() * CUBE_ROTATIONS);
    labels.push(r);
    return [windowed(rotateCube(cropCube(v, cfg.side, rng), r), cfg.window)];
  });
  return pack(samples, labels);
}

/** Cells of the 3 × 3 × 3 grid of RPL and jigsaw; the centre cell of RPL. */
export const GRID3_CELLS = 27;
export const RPL_CENTRE = 13;
/** RPL classes: the 26 neighbours of the centre cell. */
export const RPL_CLASSES = GRID3_CELLS - 1;

/** The grid cell of RPL label `l`: cells in order with the centre left out. */
export const rplCell = (l: number): number => (l < RPL_CENTRE ? l : l + 1);

/** How an RPL or jigsaw batch is drawn: a 3 × 3 × 3 grid of patches per sample. */
export interface GridBatchConfig {
  readonly samples: number;
  /** `grid` must be 3 for RPL and jigsaw. Taleb et al.: patches of a third of 128³, jitter 3. */
  readonly grid: PatchGrid;
  readonly window: HuWindow;
}

function checkGrid(g: PatchGrid, want: number, task: string): void {
  if (g.grid !== want) throw new PretextError(`${task} cuts a ${want}³ grid, got grid ${g.grid}`);
  if (!Number.isInteger(g.patch) || g.patch < 1 || !Number.isInteger(g.jitter) || g.jitter < 0) throw new PretextError(`${task}: patch must be an integer ≥ 1 and jitter ≥ 0, got ${g.patch} and ${g.jitter}`);
}

/**
 * Relative 3D patch location: per sample the centre patch and one of its 26 neighbours, drawn
 * uniformly, as `[centre, neighbour]`; the label is the neighbour's index ({@link rplCell}).
 */
export function rplBatch(volumes: readonly PreparedVolume[], cfg: GridBatchConfig, rng: Rng): CubeBatch {
  checkSamples(cfg.samples);
  checkGrid(cfg.grid, 3, 'relative patch location');
  const labels: number[] = [];
  const samples = pickVolumes(volumes, cfg.samples, rng).map((v) => {
    const patches = gridPatches(cropCube(v, gridSide(cfg.grid), rng), cfg.grid, rng);
    const l = Math.floor(rng() * RPL_CLASSES);
    labels.push(l);
    return [windowed(patches[RPL_CENTRE]!, cfg.window), windowed(patches[rplCell(l)]!, cfg.window)];
  });
  return pack(samples, labels);
}

/**
 * `count` distinct random permutations of `cells` items (Taleb et al. ship random unique ones for
 * 3D, 100 of 27), drawn by a fixed seed so that a model's classes mean the same every run. The
 * identity is not among them unless drawn.
 */
export function jigsawPermutations(count: number, cells = GRID3_CELLS, seed = 0x7a11): number[][] {
  if (!Number.isInteger(count) || count < 2) throw new PretextError(`permutations: count must be an integer ≥ 2, got ${count}`);
  const rng = mulberry32(seed);
  const seen = new Set<string>();
  const out: number[][] = [];
  while (out.length < count) {
    const p = Array.from({ length: cells }, (_, i) => i);
    for (let i = cells - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    const key = p.join(',');
    if (!seen.has(key)) {
      seen.add(key);
      out.push(p);
    }
  }
  return out;
}

/** A jigsaw batch's settings: the grid and the permutation set (the classes). */
export interface JigsawBatchConfig extends GridBatchConfig {
  readonly permutations: readonly (readonly number[])[];
}

/**
 * 3D jigsaw puzzles: the 27 patches of a sample shuffled by permutation `l` of the set, drawn
 * uniformly: slot j holds cell `permutations[l][j]`; the net predicts `l`.
 */
export function jigsawBatch(volumes: readonly PreparedVolume[], cfg: JigsawBatchConfig, rng: Rng): CubeBatch {
  checkSamples(cfg.samples);
  checkGrid(cfg.grid, 3, 'jigsaw');
  if (cfg.permutations.length < 2 || cfg.permutations.some((p) => p.length !== GRID3_CELLS || new Set(p).size !== GRID3_CELLS || p.some((c) => !(c >= 0 && c < GRID3_CELLS)))) {
    throw new PretextError(`jigsaw: permutations must be ≥ 2 orderings of the ${GRID3_CELLS} cells`);
  }
  const labels: number[] = [];
  const samples = pickVolumes(volumes, cfg.samples, rng).map((v) => {
    const patches = gridPatches(cropCube(v, gridSide(cfg.grid), rng), cfg.grid, rng);
    const l = Math.floor(rng() * cfg.permutations.length);
    labels.push(l);
    return cfg.permutations[l]!.map((cell) => windowed(patches[cell]!, cfg.window));
  });
  return pack(samples, labels);
}

/** The augmentations of the exemplar task (Taleb et al.'s defaults in {@link EXEMPLAR_AUGMENTATION}). */
export interface CubeAugmentation {
  /** Random flip of each axis (probability 1/2 each). */
  readonly flip: boolean;
  /** A uniformly drawn one of the 10 quarter-turn rotations. */
  readonly quarterTurns: boolean;
  /** Largest |angle| of a rotation about a random axis, degrees. */
  readonly rotationDeg: number;
  /** Zoom ∈ [1 − zoom, 1 + zoom]. */
  readonly zoom: number;
  /** Added to the [0, 1] values: uniform in ±brightness. */
  readonly brightness: number;
  /** Values scaled about their mean by a factor uniform in [lo, hi]. */
  readonly contrast: readonly [number, number];
}

/** Taleb et al.'s exemplar augmentations: flips, 90° and arbitrary rotations, brightness ±0.125, contrast [0.5, 1.5], zoom ±20 %. */
export const EXEMPLAR_AUGMENTATION: CubeAugmentation = { flip: true, quarterTurns: true, rotationDeg: 45, zoom: 0.2, brightness: 0.125, contrast: [0.5, 1.5] };

/** `c` (HU) augmented and windowed to [0, 1] (clamped). */
export function augmentCube(c: Cube, window: HuWindow, a: CubeAugmentation, rng: Rng): Cube {
  let x = c;
  if (a.flip) {
    const flips = [rng() < 0.5, rng() < 0.5, rng() < 0.5];
    if (flips.some(Boolean)) {
      const s = x.side;
      const out = new Float32Array(x.data.length);
      for (let d = 0; d < s; d++)
        for (let h = 0; h < s; h++)
          for (let w = 0; w < s; w++) {
            const sd = flips[0] ? s - 1 - d : d;
            const sh = flips[1] ? s - 1 - h : h;
            const sw = flips[2] ? s - 1 - w : w;
            out[(d * s + h) * s + w] = x.data[(sd * s + sh) * s + sw]!;
          }
      x = { side: s, data: out };
    }
  }
  if (a.quarterTurns) x = rotateCube(x, Math.floor(rng() * CUBE_ROTATIONS));
  const angle = (uniform(rng, -a.rotationDeg, a.rotationDeg) * Math.PI) / 180;
  const axis = Math.floor(rng() * 3) as 0 | 1 | 2;
  const zoom = 1 + uniform(rng, -a.zoom, a.zoom);
  if (angle !== 0 || zoom !== 1) x = affineCube(x, axis, angle, zoom);
  const data = applyWindow(x.data, window);
  const contrast = uniform(rng, a.contrast[0], a.contrast[1]);
  const brightness = uniform(rng, -a.brightness, a.brightness);
  let mean = 0;
  for (const v of data) mean += v;
  mean /= data.length;
  for (let n = 0; n < data.length; n++) {
    const v = (data[n]! - mean) * contrast + mean + brightness;
    data[n] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return { side: x.side, data };
}

/** How an exemplar batch is drawn. */
export interface ExemplarBatchConfig {
  readonly samples: number;
  readonly side: number;
  readonly window: HuWindow;
  readonly augmentation: CubeAugmentation;
}

/**
 * 3D exemplar networks (triplets): per sample `[anchor, positive, negative]` — two independent
 * augmentations of one cube, and an augmented cube of another volume, drawn uniformly (of the same
 * volume, elsewhere, when there is only one).
 */
export function exemplarBatch(volumes: readonly PreparedVolume[], cfg: ExemplarBatchConfig, rng: Rng): CubeBatch {
  checkSamples(cfg.samples);
  const samples = pickVolumes(volumes, cfg.samples, rng).map((v) => {
    const cube = cropCube(v, cfg.side, rng);
    const at = volumes.indexOf(v);
    const other = cropCube(volumes.length > 1 ? volumes[(at + 1 + Math.floor(rng() * (volumes.length - 1))) % volumes.length]! : v, cfg.side, rng);
    return [augmentCube(cube, cfg.window, cfg.augmentation, rng), augmentCube(cube, cfg.window, cfg.augmentation, rng), augmentCube(other, cfg.window, cfg.augmentation, rng)];
  });
  return pack(samples, samples.map(() => -1));
}

/** How a CPC batch is drawn: a grid³ of patches per sample (Taleb et al.: 4³ patches of 32³). */
export interface CpcBatchConfig {
  readonly samples: number;
  readonly grid: PatchGrid;
  readonly window: HuWindow;
}

/** 3D contrastive predictive coding: each sample's grid³ patches in cell order (`gridCell`: d, h, w, w fastest). */
export function cpcBatch(volumes: readonly PreparedVolume[], cfg: CpcBatchConfig, rng: Rng): CubeBatch {
  checkSamples(cfg.samples, 2);
  if (!Number.isInteger(cfg.grid.grid) || cfg.grid.grid < 2) throw new PretextError(`CPC needs a grid of ≥ 2 cells per axis, got ${cfg.grid.grid}`);
  const samples = pickVolumes(volumes, cfg.samples, rng).map((v) => gridPatches(cropCube(v, gridSide(cfg.grid), rng), cfg.grid, rng).map((c) => windowed(c, cfg.window)));
  return pack(samples, samples.map(() => -1));
}

/**
 * What CPC predicts: the grid's rows are its planes along d. A context runs down each column
 * (h, w) over rows 0 … contextRows − 1; from it, step k predicts the patch of row
 * contextRows + k in the same column. One entry per (column, step), column-major:
 * `context` lists the patches (indices within a sample) the column's context reads, `target`
 * the patch whose code is the positive.
 */
export function cpcPairs(grid: number, contextRows: number): { readonly column: number; readonly step: number; readonly context: readonly number[]; readonly target: number }[] {
  if (!Number.isInteger(contextRows) || contextRows < 1 || contextRows >= grid) throw new PretextError(`CPC: context rows must be an integer in [1, ${grid - 1}], got ${contextRows}`);
  const out = [];
  for (let column = 0; column < grid * grid; column++) {
    const context = Array.from({ length: contextRows }, (_, d) => d * grid * grid + column);
    for (let step = 0; step < grid - contextRows; step++) out.push({ column, step, context, target: (contextRows + step) * grid * grid + column });
  }
  return out;
}
