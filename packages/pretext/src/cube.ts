import { uniform, uniformInt } from '@tomosort/random';
import type { Rng } from '@tomosort/random';
import { PretextError } from './errors';
import { extentMm, sliceAtMm } from './prepare';
import type { PreparedVolume } from './prepare';

/**
 * A cube of `side³` voxels, `data[d·side² + h·side + w]`: `d` across the prepared volume's slices,
 * `h`, `w` its rows and columns — the `[D, H, W]` order of the 3D encoders' `[N, D, H, W, C]` input.
 */
export interface Cube {
  readonly side: number;
  readonly data: Float32Array;
}

/** Value outside a volume after an affine resampling (HU): air, as the 2D augmentations. */
export const FILL_HU = -1024;

/** Depth between the cubes' voxels (mm): the in-plane scale when the volume has one (isotropic voxels), else one slice. */
export const cubeStepMm = (p: PreparedVolume): number => p.mmPerPixel ?? p.spacingMm;

/**
 * A random `side³` cube of `p` in HU: any in-plane position, any depth; depth is sampled every
 * {@link cubeStepMm} (linear between slices), so a volume at a fixed scale gives isotropic voxels.
 * A volume thinner than the cube is centred in it and its end slices repeat.
 */
export function cropCube(p: PreparedVolume, side: number, rng: Rng): Cube {
  if (!Number.isInteger(side) || side < 2) throw new PretextError(`cube side must be an integer ≥ 2, got ${side}`);
  if (side > p.size) throw new PretextError(`${p.id}: a ${side}³ cube does not fit its ${p.size}² slices`);
  const step = cubeStepMm(p);
  const depth = (side - 1) * step;
  const slack = extentMm(p) - depth;
  const first = slack >= 0 ? uniform(rng, 0, slack) : slack / 2;
  const y0 = uniformInt(rng, 0, p.size - side);
  const x0 = uniformInt(rng, 0, p.size - side);
  const data = new Float32Array(side ** 3);
  const slice = new Float32Array(p.size * p.size);
  for (let d = 0; d < side; d++) {
    sliceAtMm(p, first + d * step, slice);
    for (let h = 0; h < side; h++) data.set(slice.subarray((y0 + h) * p.size + x0, (y0 + h) * p.size + x0 + side), (d * side + h) * side);
  }
  return { side, data };
}

/** Rotation labels of the 3D rotation task: identity, and 90°, 180°, 270° about each of the three axes. */
export const CUBE_ROTATIONS = 10;

/**
 * The rotation of label `r` ∈ [0, 10): 0 identity; `1 + 3a + (q − 1)` is q quarter turns about
 * axis `a` (0: d, 1: h, 2: w). One quarter turn about `a` acts on the other two axes (u, v), in
 * that order, as out(u, v) = in(side − 1 − v, u).
 */
export function rotationOf(r: number): { readonly axis: 0 | 1 | 2; readonly quarterTurns: 0 | 1 | 2 | 3 } {
  if (!Number.isInteger(r) || r < 0 || r >= CUBE_ROTATIONS) throw new PretextError(`rotation label must be an integer in [0, ${CUBE_ROTATIONS}), got ${r}`);
  if (r === 0) return { axis: 0, quarterTurns: 0 };
  return { axis: Math.floor((r - 1) / 3) as 0 | 1 | 2, quarterTurns: (((r - 1) % 3) + 1) as 1 | 2 | 3 };
}

/** `c` rotated as rotation label `r` says ({@link rotationOf}); a new cube. */
export function rotateCube(c: Cube, r: number): Cube {
  const { axis, quarterTurns } = rotationOf(r);
  const s = c.side;
  // Strides of (d, h, w) in the buffer; the turn reads in(u = s − 1 − v, v = u) on the plane (u, v).
  const stride = [s * s, s, 1];
  const [ua, va] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
  const su = stride[ua]!;
  const sv = stride[va]!;
  const sa = stride[axis]!;
  let src = c.data;
  for (let t = 0; t < quarterTurns; t++) {
    const out = new Float32Array(src.length);
    for (let a = 0; a < s; a++)
      for (let u = 0; u < s; u++)
        for (let v = 0; v < s; v++) out[a * sa + u * su + v * sv] = src[a * sa + (s - 1 - v) * su + u * sv]!;
    src = out;
  }
  return { side: s, data: quarterTurns === 0 ? Float32Array.from(src) : src };
}

/** The sub-cube of `c` with corner (d, h, w) and side `side`. */
export function subCube(c: Cube, corner: readonly [number, number, number], side: number): Cube {
  const [d0, h0, w0] = corner;
  if (d0 < 0 || h0 < 0 || w0 < 0 || d0 + side > c.side || h0 + side > c.side || w0 + side > c.side) {
    throw new PretextError(`a ${side}³ patch at [${corner.join(', ')}] leaves the ${c.side}³ cube`);
  }
  const data = new Float32Array(side ** 3);
  for (let d = 0; d < side; d++) for (let h = 0; h < side; h++) data.set(c.data.subarray(((d0 + d) * c.side + h0 + h) * c.side + w0, ((d0 + d) * c.side + h0 + h) * c.side + w0 + side), (d * side + h) * side);
  return { side, data };
}

/** The grid cell of flat index `i` in a `grid³` grid: [d, h, w], row-major (w fastest). */
export const gridCell = (i: number, grid: number): [number, number, number] => [Math.floor(i / (grid * grid)), Math.floor(i / grid) % grid, i % grid];

/** How a cube is cut into a grid of patches (relative patch location, jigsaw, CPC). */
export interface PatchGrid {
  /** Cells per axis (3 for RPL and jigsaw, 4 for CPC). */
  readonly grid: number;
  /** Side of each patch, voxels. */
  readonly patch: number;
  /** Each patch starts 0…jitter voxels into its cell (uniform per axis); the cell is patch + jitter wide. */
  readonly jitter: number;
}

/** Side of the cube a patch grid is cut from: grid · (patch + jitter). */
export const gridSide = (g: PatchGrid): number => g.grid * (g.patch + g.jitter);

/** The `grid³` patches of `c` (side {@link gridSide}), in cell order ({@link gridCell}), each jittered inside its cell. */
export function gridPatches(c: Cube, g: PatchGrid, rng: Rng): Cube[] {
  const cell = g.patch + g.jitter;
  if (c.side !== gridSide(g)) throw new PretextError(`a ${g.grid}³ grid of ${g.patch}³ patches (jitter ${g.jitter}) needs a ${gridSide(g)}³ cube, got ${c.side}³`);
  return Array.from({ length: g.grid ** 3 }, (_, i) => {
    const [d, h, w] = gridCell(i, g.grid);
    const j = () => uniformInt(rng, 0, g.jitter);
    return subCube(c, [d * cell + j(), h * cell + j(), w * cell + j()], g.patch);
  });
}

/**
 * `c` resampled (trilinear, about its centre) under a rotation by `angleRad` about `axis` and a
 * zoom (> 1 magnifies); voxels that fall outside read {@link FILL_HU}.
 */
export function affineCube(c: Cube, axis: 0 | 1 | 2, angleRad: number, zoom: number): Cube {
  const s = c.side;
  const m = (s - 1) / 2;
  const cos = Math.cos(angleRad) / zoom;
  const sin = Math.sin(angleRad) / zoom;
  const inv = 1 / zoom;
  const out = new Float32Array(s ** 3);
  const src = c.data;
  const stride = [s * s, s, 1];
  const [ua, va] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
  const [sa, su, sv] = [stride[axis]!, stride[ua]!, stride[va]!];
  const lo = -1e-6;
  const hi = s - 1 + 1e-6;
  const floor = (x: number) => Math.min(s - 2, Math.max(0, Math.floor(x)));
  for (let a = 0; a < s; a++) {
    const pa = (a - m) * inv + m;
    for (let u = 0; u < s; u++)
      for (let v = 0; v < s; v++) {
        const qu = u - m;
        const qv = v - m;
        const pu = cos * qu - sin * qv + m;
        const pv = sin * qu + cos * qv + m;
        const at = a * sa + u * su + v * sv;
        if (pa < lo || pa > hi || pu < lo || pu > hi || pv < lo || pv > hi) {
          out[at] = FILL_HU;
          continue;
        }
        const [a0, u0, v0] = [floor(pa), floor(pu), floor(pv)];
        const ta = Math.min(1, Math.max(0, pa - a0));
        const tu = Math.min(1, Math.max(0, pu - u0));
        const tv = Math.min(1, Math.max(0, pv - v0));
        const base = a0 * sa + u0 * su + v0 * sv;
        const plane = (b: number) => {
          const r0 = src[b]! + (src[b + sv]! - src[b]!) * tv;
          const r1 = src[b + su]! + (src[b + su + sv]! - src[b + su]!) * tv;
          return r0 + (r1 - r0) * tu;
        };
        const p0 = plane(base);
        out[at] = p0 + (plane(base + sa) - p0) * ta;
      }
  }
  return { side: s, data: out };
}
