import type { Knot, Layer } from './anatomy';

/** A layer's cross-section at one depth: an ellipse (body frame, subject mm), maybe with a hole. */
export interface Section {
  readonly cx: number;
  readonly cy: number;
  readonly a: number;
  readonly b: number;
  /** Semi-axes of a concentric hole (shells: skull, ribs, arches). */
  readonly hole?: { readonly a: number; readonly b: number };
}

/** The subject's in-plane build: girth scales x, y and in-plane sizes; fatMm is the subcutaneous fat layer. */
export interface Build {
  readonly girth: number;
  readonly fatMm: number;
}

function interpolate(knots: readonly Knot[], d: number): Knot | undefined {
  const first = knots[0];
  const last = knots[knots.length - 1];
  if (first === undefined || last === undefined || d < first[0] || d > last[0]) return undefined;
  for (let n = 1; n < knots.length; n++) {
    const hi = knots[n]!;
    if (d <= hi[0]) {
      const lo = knots[n - 1]!;
      const t = hi[0] === lo[0] ? 0 : (d - lo[0]) / (hi[0] - lo[0]);
      const mix = (m: 1 | 2 | 3 | 4): number => lo[m] + t * (hi[m] - lo[m]);
      return [d, mix(1), mix(2), mix(3), mix(4)];
    }
  }
  return first;
}

const inBands = (bands: NonNullable<Layer['bands']>, d: number): boolean =>
  (((d - bands.from) % bands.period) + bands.period) % bands.period < bands.width;

/**
 * Where `layer` cuts the plane at canonical depth `d` (mm below the vertex of the canonical body),
 * scaled to the subject's build; undefined when it does not reach that depth.
 */
export function sectionAt(layer: Layer, d: number, build: Build): Section | undefined {
  if (layer.clip && (d < layer.clip[0] || d > layer.clip[1])) return undefined;
  if (layer.bands && !inBands(layer.bands, d)) return undefined;
  const g = build.girth;
  const shape = layer.shape;
  if (shape.kind === 'ellipsoid') {
    const [x, y, cd] = shape.centre;
    const [ra, rb, rc] = shape.radii;
    const t = (d - cd) / rc;
    if (Math.abs(t) >= 1) return undefined;
    const f = Math.sqrt(1 - t * t);
    const section = { cx: x * g, cy: y * g, a: ra * f * g, b: rb * f * g };
    if (shape.shell === undefined) return section;
    const s = shape.shell;
    const ti = (d - cd) / (rc - s);
    if (Math.abs(ti) >= 1) return section;
    const fi = Math.sqrt(1 - ti * ti);
    return { ...section, hole: { a: (ra - s) * fi * g, b: (rb - s) * fi * g } };
  }
  const k = interpolate(shape.knots, d);
  if (k === undefined) return undefined;
  const inset = (shape.inset ?? 0) * g + (shape.belowFat ? build.fatMm : 0);
  const a = k[1] * g - inset;
  const b = k[2] * g - inset;
  if (!(a > 0 && b > 0)) return undefined;
  const section = { cx: k[3] * g, cy: k[4] * g, a, b };
  if (shape.shell === undefined) return section;
  const s = shape.shell * g;
  return a > s && b > s ? { ...section, hole: { a: a - s, b: b - s } } : section;
}

/** How the body frame sits on one axial image: pixel (i, j) is at patient (x0 + i·pixelMm, y0 + j·pixelMm). */
export interface ImageFrame {
  readonly size: number;
  readonly pixelMm: number;
  readonly x0: number;
  readonly y0: number;
  /** Patient (x, y) of the body axis on this image. */
  readonly centreX: number;
  readonly centreY: number;
  /** In-plane rotation of the body frame (radians, from patient x towards patient y). */
  readonly angle: number;
}

/** Paints `section` into one image: every pixel inside gets `hu` and `label`. */
export function paintSection(
  section: Section,
  frame: ImageFrame,
  hu: number,
  label: number,
  huOut: Float32Array,
  labelOut: Uint8Array,
): void {
  const { size, pixelMm, x0, y0, centreX, centreY } = frame;
  const cos = Math.cos(frame.angle);
  const sin = Math.sin(frame.angle);
  // Section centre in patient mm, and a bounding square in pixels.
  const px = centreX + cos * section.cx - sin * section.cy;
  const py = centreY + sin * section.cx + cos * section.cy;
  const r = Math.max(section.a, section.b);
  const i0 = Math.max(0, Math.floor((px - r - x0) / pixelMm));
  const i1 = Math.min(size - 1, Math.ceil((px + r - x0) / pixelMm));
  const j0 = Math.max(0, Math.floor((py - r - y0) / pixelMm));
  const j1 = Math.min(size - 1, Math.ceil((py + r - y0) / pixelMm));
  const ia2 = 1 / (section.a * section.a);
  const ib2 = 1 / (section.b * section.b);
  const ha2 = section.hole ? 1 / (section.hole.a * section.hole.a) : 0;
  const hb2 = section.hole ? 1 / (section.hole.b * section.hole.b) : 0;
  for (let j = j0; j <= j1; j++) {
    const dy = y0 + j * pixelMm - py;
    for (let i = i0; i <= i1; i++) {
      const dx = x0 + i * pixelMm - px;
      // Rotate the offset back into the body frame.
      const u = cos * dx + sin * dy;
      const v = -sin * dx + cos * dy;
      const uu = u * u;
      const vv = v * v;
      if (uu * ia2 + vv * ib2 > 1) continue;
      if (section.hole && uu * ha2 + vv * hb2 < 1) continue;
      const n = i + size * j;
      huOut[n] = hu;
      labelOut[n] = label;
    }
  }
}
