import { InvalidGeometryError } from './errors';
import type { Vec3, Volume, VoxelArray } from './types';
import { patientMm } from './types';
import { add, dot, scale } from './vec';
import { createVolume, valueRange } from './volume';
import { DEFAULT_INTENSITY, intensityMap } from './window';
import type { HuWindow, IntensityRule } from './window';

/**
 * Sparse interpolation weights for one axis, in CSR form: output `o` reads inputs
 * `index[offset[o] .. offset[o+1])` with weights `weight[…]` (summing to 1).
 */
export interface AxisWeights {
  readonly nOut: number;
  readonly offset: Int32Array;
  readonly index: Int32Array;
  readonly weight: Float32Array;
}

/**
 * Linear interpolation weights, widened into a triangle filter of half-width `ratio` when
 * downsampling (ratio = output spacing / input spacing > 1) so that no input is skipped
 * (anti-aliasing, as Pillow's bilinear resize does). `srcOf(o)` is output o's position in input
 * voxel units. Samples beyond the edges repeat the edge voxel.
 */
export function axisWeights(nIn: number, nOut: number, ratio: number, srcOf: (o: number) => number, outside = false): AxisWeights {
  const support = Math.max(1, ratio);
  const offset = new Int32Array(nOut + 1);
  const index: number[] = [];
  const weight: number[] = [];
  for (let o = 0; o < nOut; o++) {
    const u = srcOf(o);
    // With `outside`, a sample beyond the input's outer voxel edges reads nothing (an empty row).
    if (outside && (u < -0.5 || u > nIn - 0.5)) {
      offset[o + 1] = index.length;
      continue;
    }
    const lo = Math.ceil(u - support);
    const hi = Math.floor(u + support);
    const acc = new Map<number, number>();
    let total = 0;
    for (let n = lo; n <= hi; n++) {
      const w = 1 - Math.abs(n - u) / support;
      if (w <= 0) continue;
      const clamped = Math.min(nIn - 1, Math.max(0, n));
      acc.set(clamped, (acc.get(clamped) ?? 0) + w);
      total += w;
    }
    for (const [n, w] of acc) {
      index.push(n);
      weight.push(w / total);
    }
    offset[o + 1] = index.length;
  }
  return { nOut, offset, index: Int32Array.from(index), weight: Float32Array.from(weight) };
}

/** Applies `w` along `axis` of a [dims] buffer; returns the new buffer (Float32). */
function applyAxis(src: ArrayLike<number>, dims: readonly number[], axis: number, w: AxisWeights): Float32Array {
  const nIn = dims[axis]!;
  let inner = 1;
  for (let a = 0; a < axis; a++) inner *= dims[a]!;
  let outer = 1;
  for (let a = axis + 1; a < dims.length; a++) outer *= dims[a]!;
  const out = new Float32Array(inner * w.nOut * outer);
  for (let y = 0; y < outer; y++) {
    const inBase = inner * nIn * y;
    const outBase = inner * w.nOut * y;
    for (let o = 0; o < w.nOut; o++) {
      const dst = outBase + inner * o;
      for (let e = w.offset[o]!; e < w.offset[o + 1]!; e++) {
        const s = inBase + inner * w.index[e]!;
        const ww = w.weight[e]!;
        for (let x = 0; x < inner; x++) out[dst + x] = out[dst + x]! + ww * src[s + x]!;
      }
    }
  }
  return out;
}

/** What to do with one voxel axis. */
export type AxisTarget =
  /** Keep the axis as is. */
  | { readonly kind: 'keep' }
  /** `size` samples covering the same field of view (voxel corners aligned, the image stretches to fit). */
  | { readonly kind: 'size'; readonly size: number }
  /** Samples every `mm` millimetres from the first voxel centre to (at most) the last one. */
  | { readonly kind: 'spacing'; readonly mm: number }
  /**
   * `size` samples every `mm` millimetres centred on the axis' centre: a fixed physical field of
   * view (size · mm), cropping or padding; samples beyond the input read the `fill` value.
   */
  | { readonly kind: 'grid'; readonly size: number; readonly mm: number };

/**
 * Resamples a volume axis by axis with (anti-aliased) linear interpolation and updates spacing
 * and origin so every output voxel keeps its true patient position. Returns Float32 voxels.
 * `fill` (default 0) is the value of 'grid' samples beyond the input.
 */
export function resample(v: Volume, targets: readonly [AxisTarget, AxisTarget, AxisTarget], fill = 0): Volume<Float32Array> {
  const dims = [...v.dims];
  const spacing: number[] = [...v.spacing];
  let origin: Vec3 = v.origin;
  const passes: { axis: number; w: AxisWeights; shrink: number }[] = [];
  targets.forEach((t, axis) => {
    const nIn = v.dims[axis as 0 | 1 | 2];
    const sIn = v.spacing[axis as 0 | 1 | 2];
    if (t.kind === 'keep') return;
    let nOut: number;
    let sOut: number;
    let first: number;
    let outside = false;
    if (t.kind === 'grid') {
      if (!Number.isInteger(t.size) || t.size < 1) throw new InvalidGeometryError(`target size must be a positive integer, got ${t.size}`);
      if (!(t.mm > 0)) throw new InvalidGeometryError(`target spacing must be positive, got ${t.mm} mm`);
      nOut = t.size;
      sOut = t.mm;
      // Output and input share their centre: sample o sits at input voxel (nIn − 1)/2 + (o − (size − 1)/2)·mm/sIn.
      first = (nIn - 1) / 2 - ((t.size - 1) / 2) * (t.mm / sIn);
      outside = true;
    } else if (t.kind === 'size') {
      if (!Number.isInteger(t.size) || t.size < 1) throw new InvalidGeometryError(`target size must be a positive integer, got ${t.size}`);
      nOut = t.size;
      sOut = (sIn * nIn) / nOut;
      first = (0.5 * nIn) / nOut - 0.5;
    } else {
      if (!(t.mm > 0)) throw new InvalidGeometryError(`target spacing must be positive, got ${t.mm} mm`);
      nOut = Math.floor(((nIn - 1) * sIn) / t.mm + 1e-6) + 1;
      sOut = t.mm;
      first = 0;
    }
    const ratio = sOut / sIn;
    passes.push({ axis, w: axisWeights(nIn, nOut, ratio, (o) => first + o * ratio, outside), shrink: nOut / nIn });
    dims[axis] = nOut;
    spacing[axis] = sOut;
    origin = add(origin, scale(v.direction[axis as 0 | 1 | 2], first * sIn));
  });
  // Shrinking passes first: later passes then touch fewer voxels.
  passes.sort((a, b) => a.shrink - b.shrink);
  // Empty rows (samples beyond the input) give 0: resampling (x − fill) and adding fill back
  // makes them `fill` while leaving every other sample unchanged (its weights sum to 1).
  const shifted = fill !== 0 && targets.some((t) => t.kind === 'grid');
  let buf: ArrayLike<number> = shifted ? Float32Array.from(v.data, (x) => x - fill) : v.data;
  const cur = [...v.dims];
  for (const p of passes) {
    buf = applyAxis(buf, cur, p.axis, p.w);
    cur[p.axis] = p.w.nOut;
  }
  if (shifted) {
    const b = buf as Float32Array;
    for (let n = 0; n < b.length; n++) b[n] = b[n]! + fill;
  }
  const data = buf instanceof Float32Array && buf !== (v.data as VoxelArray) ? buf : Float32Array.from(buf);
  return createVolume({
    data,
    dims: [dims[0]!, dims[1]!, dims[2]!],
    spacing: [spacing[0]!, spacing[1]!, spacing[2]!],
    origin: patientMm(origin[0], origin[1], origin[2]),
    direction: v.direction,
    modality: v.modality,
  });
}

/** In-plane size `width × height` (same field of view) and, optionally, slices every `sliceSpacingMm`. */
export function resampleTo(
  v: Volume,
  opts: { width?: number; height?: number; sliceSpacingMm?: number },
): Volume<Float32Array> {
  return resample(v, [
    opts.width === undefined ? { kind: 'keep' } : { kind: 'size', size: opts.width },
    opts.height === undefined ? { kind: 'keep' } : { kind: 'size', size: opts.height },
    opts.sliceSpacingMm === undefined ? { kind: 'keep' } : { kind: 'spacing', mm: opts.sliceSpacingMm },
  ]);
}

/**
 * How slices reach a model in-plane: `size × size` pixels; with `mmPerPixel`, at that fixed
 * physical scale (a field of view of size · mmPerPixel mm centred on the slice, cropping or
 * padding), else the slice's whole field of view stretched to size² (models made before the
 * physical scale existed).
 */
export interface SliceScale {
  readonly size: number;
  readonly mmPerPixel?: number | undefined;
}

/** The volume's slices (k kept) on a model's in-plane grid; `fill` beyond the volume (fixed scale only). */
export function resampleInPlane(v: Volume, s: SliceScale, fill = 0): Volume<Float32Array> {
  if (s.mmPerPixel === undefined) return resample(v, [{ kind: 'size', size: s.size }, { kind: 'size', size: s.size }, { kind: 'keep' }]);
  return resample(v, [{ kind: 'grid', size: s.size, mm: s.mmPerPixel }, { kind: 'grid', size: s.size, mm: s.mmPerPixel }, { kind: 'keep' }], fill);
}

/**
 * The inverse of {@link resampleInPlane}: a volume on a model's in-plane grid `s` back onto the
 * in-plane grid of `like` (its dims and spacing; both grids share their centre). `fill` where the
 * model's field of view did not reach.
 */
export function restoreInPlane(small: Volume, like: Pick<Volume, 'dims' | 'spacing'>, s: SliceScale, fill = 0): Volume<Float32Array> {
  if (s.mmPerPixel === undefined) return resample(small, [{ kind: 'size', size: like.dims[0] }, { kind: 'size', size: like.dims[1] }, { kind: 'keep' }]);
  return resample(small, [{ kind: 'grid', size: like.dims[0], mm: like.spacing[0] }, { kind: 'grid', size: like.dims[1], mm: like.spacing[1] }, { kind: 'keep' }], fill);
}

/** Where a volume's voxels lie, without their values. */
export type Grid = Pick<Volume, 'dims' | 'spacing' | 'origin' | 'direction'>;

/** How far past x.5 (in source voxels) a position must lie to round down: ties go to the higher index. */
const TIE_TOLERANCE = 1e-6;

/**
 * Nearest-neighbour resampling of `v` onto another voxel `grid`, by patient (mm) position: each
 * output voxel takes the value of the source voxel whose centre is nearest to its own centre
 * (per axis: `floor(u + 0.5)`, so a position exactly half-way between two centres — within 1e-6
 * voxel — takes the higher index), and `outside` where that voxel lies outside the source. Values
 * are copied, never blended, so label maps stay label maps; the array type is kept.
 * Directions need not match (any orthonormal frames).
 *
 * @param outside value of output voxels that fall outside `v` (default 0).
 */
export function resampleNearest<T extends VoxelArray>(v: Volume<T>, grid: Grid, outside = 0): Volume<T> {
  const [nx, ny, nz] = grid.dims;
  const [sx, sy, sz] = v.dims;
  // Source voxel coordinate u_a = base_a + i·step[0]_a + j·step[1]_a + k·step[2]_a.
  const d: Vec3 = [grid.origin[0] - v.origin[0], grid.origin[1] - v.origin[1], grid.origin[2] - v.origin[2]];
  const base = [0, 1, 2].map((a) => dot(d, v.direction[a as 0 | 1 | 2]) / v.spacing[a as 0 | 1 | 2]);
  const step = [0, 1, 2].map((b) =>
    [0, 1, 2].map((a) => (grid.spacing[b as 0 | 1 | 2] * dot(grid.direction[b as 0 | 1 | 2], v.direction[a as 0 | 1 | 2])) / v.spacing[a as 0 | 1 | 2]),
  );
  const out = new (v.data.constructor as { new (n: number): T })(nx * ny * nz);
  const round = (u: number): number => Math.floor(u + 0.5 + TIE_TOLERANCE);
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = [0, 1, 2].map((a) => base[a]! + j * step[1]![a]! + k * step[2]![a]!);
      for (let i = 0; i < nx; i++, o++) {
        const u = round(row[0]! + i * step[0]![0]!);
        const w = round(row[1]! + i * step[0]![1]!);
        const t = round(row[2]! + i * step[0]![2]!);
        out[o] = u < 0 || u >= sx || w < 0 || w >= sy || t < 0 || t >= sz ? outside : v.data[u + sx * (w + sy * t)]!;
      }
    }
  }
  return createVolume({ data: out, dims: grid.dims, spacing: grid.spacing, origin: grid.origin, direction: grid.direction, modality: v.modality });
}

/**
 * `stack` (slices of `whole`, or `whole` itself) on a model's in-plane grid, in window units: at a
 * fixed scale, padding takes `whole`'s lowest value; a non-HU volume is mapped by `whole`'s robust
 * range onto `window` ({@link intensityMap}), so a slice maps the same alone or with its volume.
 */
export function toModelGrid(stack: Volume, whole: Volume, s: SliceScale, window: HuWindow, rule: IntensityRule = DEFAULT_INTENSITY): Volume<Float32Array> {
  const small = resampleInPlane(stack, s, s.mmPerPixel === undefined ? 0 : valueRange(whole.data)[0]);
  const { a, b } = intensityMap(whole.data, whole.modality, window, rule);
  if (a !== 1 || b !== 0) for (let n = 0; n < small.data.length; n++) small.data[n] = a * small.data[n]! + b;
  return small;
}
