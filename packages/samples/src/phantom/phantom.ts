import type { Volume } from '@tomosort/volume';
import { PLANE_FRAMES, createVolume } from '@tomosort/volume';
import { SampleOptionError } from '../errors';
import type { Rng } from '@tomosort/random';
import { fillGaussian, mixSeed, mulberry32, uniform, uniformInt } from '@tomosort/random';
import type { PhantomOrgan } from './anatomy';
import { CANONICAL_BODY_MM, LAYERS, PHANTOM_ORGANS, PHANTOM_ORGAN_ID } from './anatomy';
import type { ImageFrame } from './raster';
import { paintSection, sectionAt } from './raster';

/** The random draws that make one phantom subject (all deterministic in (index, seed)). */
export interface PhantomParams {
  /** In-plane body scale (x, y and organ widths), 0.85..1.08. */
  readonly girth: number;
  /** Body-axis scale (organ depths and lengths), 0.92..1.08. */
  readonly height: number;
  /** Subcutaneous fat thickness (mm), (8..20) × girth. */
  readonly fatMm: number;
  /** Patient (x, y) of the body axis at the middle of the scan (mm). */
  readonly shiftMm: readonly [number, number];
  /** In-plane rotation of the body (degrees), −6..6. */
  readonly rotationDeg: number;
  /** Drift of the body axis in x and y per mm along it (a tilted patient), −0.04..0.04. */
  readonly lean: readonly [number, number];
  /** Added to every tissue's CT number (HU), −10..10. */
  readonly huOffset: number;
  /** Standard deviation of the Gaussian noise (HU), 10..20. */
  readonly noiseSd: number;
  /** In-plane pixel size (mm): field of view 380..450 mm over `size` pixels. */
  readonly pixelMm: number;
  /** Distance between slices (mm), 2..5 in steps of 0.25. */
  readonly sliceMm: number;
  /** Number of slices, 60..120. */
  readonly slices: number;
}

/** One synthetic subject: a CT volume and its organ labels on the same grid. */
export interface PhantomSubject {
  /** 'phantom-000', 'phantom-001', … */
  readonly id: string;
  readonly index: number;
  readonly seed: number;
  /**
   * Int16 HU, axial frame (PLANE_FRAMES.axial: i → left, j → back, k → head), dims
   * [size, size, slices]. Patient z of a slice is −(its depth below the vertex), so z is
   * comparable across subjects.
   */
  readonly volume: Volume<Int16Array>;
  /** Organ ids (PHANTOM_ORGANS; 0 = air outside the body), same geometry as `volume`; modality 'SEG'. */
  readonly labels: Volume<Uint8Array>;
  readonly organs: readonly PhantomOrgan[];
  /**
   * Depths covered, [top, bottom]: mm below the top of the head (the vertex) of the most superior
   * (k = slices − 1) and most inferior (k = 0) slice centres. Slice k lies at depth bottom − k·sliceMm.
   */
  readonly zRangeMm: readonly [number, number];
  readonly params: PhantomParams;
}

/** Options of {@link phantomCohort}. */
export interface PhantomCohortOptions {
  /** Number of subjects (≥ 1). */
  readonly subjects: number;
  /** Cohort seed. Default 0. */
  readonly seed?: number;
  /** In-plane matrix size (pixels along i and j). Default 128; the field of view stays 380..450 mm. */
  readonly size?: number;
}

const DEFAULT_SIZE = 128;
const AIR_HU = -1000;
const HU_MIN = -1024;
const HU_MAX = 3071;

function drawParams(rng: Rng, size: number): PhantomParams {
  const girth = uniform(rng, 0.85, 1.08);
  return {
    girth,
    height: uniform(rng, 0.92, 1.08),
    fatMm: uniform(rng, 8, 20) * girth,
    shiftMm: [uniform(rng, -15, 15), uniform(rng, -10, 10)],
    rotationDeg: uniform(rng, -6, 6),
    lean: [uniform(rng, -0.04, 0.04), uniform(rng, -0.03, 0.03)],
    huOffset: uniform(rng, -10, 10),
    noiseSd: uniform(rng, 10, 20),
    pixelMm: uniform(rng, 380, 450) / size,
    sliceMm: 2 + 0.25 * uniformInt(rng, 0, 12),
    slices: uniformInt(rng, 60, 120),
  };
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 16 || size > 1024) {
    throw new SampleOptionError(`phantom size must be an integer in 16..1024, got ${size}`);
  }
}

/**
 * One subject of the phantom cohort, without generating the others: `phantomSubject(i, seed)`
 * equals `phantomCohort({ subjects: n, seed })[i]` for any n > i.
 *
 * The body is the canonical anatomy of anatomy.ts (organs as ellipsoids and tubes, fixed
 * head-to-feet order) scaled by the subject's girth and height, shifted, rotated and tilted; the
 * scan covers a random part of it (depth 0 = vertex to ~1000 mm). CT numbers get a per-subject
 * offset, a per-organ offset (±5 HU) and Gaussian noise, rounded to Int16 and clamped to
 * −1024..3071. Same (index, seed, size) → bit-identical voxels.
 */
export function phantomSubject(index: number, seed = 0, options: { readonly size?: number } = {}): PhantomSubject {
  if (!Number.isInteger(index) || index < 0) throw new SampleOptionError(`phantom index must be an integer ≥ 0, got ${index}`);
  const size = options.size ?? DEFAULT_SIZE;
  checkSize(size);
  const rng = mulberry32(mixSeed(seed, index));
  const p = drawParams(rng, size);
  const organHu = PHANTOM_ORGANS.map(() => uniform(rng, -5, 5));

  const bodyMm = CANONICAL_BODY_MM * p.height;
  const length = (p.slices - 1) * p.sliceMm;
  const top = uniform(rng, -20, bodyMm + 20 - length);
  const bottom = top + length;
  const middle = (top + bottom) / 2;
  const x0 = (-(size - 1) / 2) * p.pixelMm;
  const build = { girth: p.girth, fatMm: p.fatMm };

  const plane = size * size;
  const data = new Int16Array(plane * p.slices);
  const labels = new Uint8Array(plane * p.slices);
  const hu = new Float32Array(plane);
  const noise = new Float32Array(plane);
  for (let k = 0; k < p.slices; k++) {
    const depth = bottom - k * p.sliceMm;
    const frame: ImageFrame = {
      size,
      pixelMm: p.pixelMm,
      x0,
      y0: x0,
      centreX: p.shiftMm[0] + p.lean[0] * (depth - middle),
      centreY: p.shiftMm[1] + p.lean[1] * (depth - middle),
      angle: (p.rotationDeg * Math.PI) / 180,
    };
    hu.fill(AIR_HU);
    const labelSlice = labels.subarray(k * plane, (k + 1) * plane);
    for (const layer of LAYERS) {
      const section = sectionAt(layer, depth / p.height, build);
      if (section === undefined) continue;
      const id = PHANTOM_ORGAN_ID[layer.organ];
      const offset = layer.organ === 'airway' ? 0 : p.huOffset + organHu[id - 1]!;
      paintSection(section, frame, layer.hu + offset, id, hu, labelSlice);
    }
    fillGaussian(rng, noise);
    const out = data.subarray(k * plane, (k + 1) * plane);
    for (let n = 0; n < plane; n++) {
      const v = Math.round(hu[n]! + p.noiseSd * noise[n]!);
      out[n] = v < HU_MIN ? HU_MIN : v > HU_MAX ? HU_MAX : v;
    }
  }

  const geometry = {
    dims: [size, size, p.slices] as const,
    spacing: [p.pixelMm, p.pixelMm, p.sliceMm] as const,
    origin: [x0, x0, -bottom] as const,
    direction: PLANE_FRAMES.axial,
  };
  return {
    id: `phantom-${String(index).padStart(3, '0')}`,
    index,
    seed,
    volume: createVolume({ ...geometry, data, modality: 'CT' }),
    labels: createVolume({ ...geometry, data: labels, modality: 'SEG' }),
    organs: PHANTOM_ORGANS,
    zRangeMm: [top, bottom],
    params: p,
  };
}

/**
 * A deterministic synthetic cohort of torso-like CT volumes (no public cohort can be downloaded
 * where tomosort is built). Subjects differ in build, position, tilt, intensity, noise, slice
 * spacing and the part of the body scanned; see {@link phantomSubject}.
 */
export function phantomCohort(options: PhantomCohortOptions): PhantomSubject[] {
  const { subjects, seed = 0, size = DEFAULT_SIZE } = options;
  if (!Number.isInteger(subjects) || subjects < 1) {
    throw new SampleOptionError(`phantom subjects must be a positive integer, got ${subjects}`);
  }
  checkSize(size);
  return Array.from({ length: subjects }, (_, index) => phantomSubject(index, seed, { size }));
}
