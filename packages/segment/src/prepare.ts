import { HU_WINDOWS, createVolume, inWindowUnits, reorient, resampleInPlane, toModelGrid } from '@tomosort/volume';
import type { HuWindow, IntensityRule, SliceScale, Volume } from '@tomosort/volume';
import { SegmentError } from './errors';
import type { ReformatPlane, SegmentClass, SparseAnnotation } from './annotation';
import { reformatOf } from './plane';
import { validateAnnotation, validateClasses } from './annotation';

/** How a volume's slices reach the model besides its size: physical scale and intensity. */
export interface ModelInputOptions {
  /** Fixed physical scale (see `SliceScale`); default: each slice's field of view stretched to size². */
  readonly mmPerPixel?: number | undefined;
  /** The model's window: non-CT volumes are mapped onto it by `intensity` (needed for them). */
  readonly window?: HuWindow | undefined;
  readonly intensity?: IntensityRule | undefined;
}

/** `stack` (slices of `whole`) on the model's grid, in window units (`toModelGrid`); a non-HU volume needs the window. */
function onModelGrid(stack: Volume, whole: Volume, size: number, opts: ModelInputOptions, id: string): Volume<Float32Array> {
  if (!opts.window && !inWindowUnits(whole.modality)) throw new SegmentError(`${id}: a ${whole.modality} volume needs the model's window to map its intensities onto`);
  // Without a window the volume is in HU (or OT) units, which pass through unchanged: the default is never applied.
  return toModelGrid(stack, whole, { size, mmPerPixel: opts.mmPerPixel }, opts.window ?? HU_WINDOWS.softTissue, opts.intensity);
}

/** Every slice of `v` on the model's grid, in window units (what prediction feeds the model). */
export const toModelInput = (v: Volume, size: number, opts: ModelInputOptions = {}, id = 'volume'): Volume<Float32Array> => onModelGrid(v, v, size, opts, id);

/** Annotated slices at the model's size: HU images and class indices (0 = background). */
export interface PreparedAnnotation {
  readonly id: string;
  readonly size: number;
  /** Annotated slice indices (k of the source volume), in the order of `images`. */
  readonly slices: readonly number[];
  /** Annotated reformatted planes, in the order of `images` after the slices (by axis, then index). */
  readonly reformats: readonly ReformatPlane[];
  /** `(slices + reformats) × size × size` HU values. */
  readonly images: Float32Array;
  /** `(slices + reformats) × size × size` class indices: c ≥ 1 is `classes[c − 1]`, 0 anything else. */
  readonly targets: Int32Array;
}

/** The listed slices of `v` as a volume of their own (in-plane geometry and modality kept). */
function pickSlices<T extends Float32Array | Uint8Array | Int16Array>(v: Volume, slices: readonly number[], make: (n: number) => T): Volume<T> {
  const plane = v.dims[0] * v.dims[1];
  const data = make(plane * slices.length);
  slices.forEach((k, n) => {
    for (let p = 0; p < plane; p++) data[n * plane + p] = v.data[k * plane + p]!;
  });
  return createVolume({ data, dims: [v.dims[0], v.dims[1], slices.length], spacing: v.spacing, origin: v.origin, direction: v.direction, modality: v.modality });
}

/**
 * Resizes the annotated slices to `size²`. Labels are resized class by class (each class mask
 * resampled like the image, then the largest share wins, background included), so thin
 * structures neither vanish nor grow the way nearest-neighbour picking would make them.
 * A reformatted plane is taken from the volume reoriented to its anatomical plane (`reformatOf`:
 * exact, in that plane's display orientation), so it reaches the model like a slice acquired
 * in that plane.
 */
export function prepareAnnotation(a: SparseAnnotation, size: number, classes: readonly SegmentClass[], opts: ModelInputOptions = {}): PreparedAnnotation {
  validateAnnotation(a);
  validateClasses(classes);
  const slices = [...a.slices].sort((x, y) => x - y);
  const reformats = [...(a.reformats ?? [])].sort((x, y) => x.axis - y.axis || x.index - y.index);
  const parts = slices.length > 0 ? [resizeSlices(a.volume, a.labels, slices, a.volume, size, classes, opts, a.id)] : [];
  for (const axis of [0, 1] as const) {
    const across = reformats.filter((r) => r.axis === axis);
    if (across.length === 0) continue;
    const reformat = reformatOf(a.volume, axis);
    if (!reformat) throw new SegmentError(`${a.id}: no anatomical plane lies across voxel axis ${axis} of this oblique volume, so its reformatted planes cannot be used`);
    const ks = across.map((r) => reformat.sliceOf(r.index));
    parts.push(resizeSlices(reorient(a.volume, reformat.plane), reorient(a.labels, reformat.plane), ks, a.volume, size, classes, opts, a.id));
  }
  return { id: a.id, size, slices, reformats, images: concat(parts.map((p) => p.images), Float32Array), targets: concat(parts.map((p) => p.targets), Int32Array) };
}

function concat<T extends Float32Array | Int32Array>(arrays: readonly T[], make: { new (n: number): T }): T {
  const out = new make(arrays.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of arrays) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

/** Slices `ks` of `volume` / `labels` (a stack of `whole`) at `size²`: images and class indices. */
function resizeSlices(
  volume: Volume,
  labelStack: Volume<Uint8Array>,
  ks: readonly number[],
  whole: Volume,
  size: number,
  classes: readonly SegmentClass[],
  opts: ModelInputOptions,
  id: string,
): { images: Float32Array; targets: Int32Array } {
  const images = onModelGrid(pickSlices(volume, ks, (n) => new Float32Array(n)), whole, size, opts, id).data;
  const scale: SliceScale = { size, mmPerPixel: opts.mmPerPixel };
  const labels = pickSlices(labelStack, ks, (n) => new Uint8Array(n));
  const count = size * size * ks.length;
  const best = new Float32Array(count);
  const targets = new Int32Array(count);
  // Background share = 1 − Σ class shares; start with it as the candidate to beat.
  const background = new Float32Array(count).fill(1);
  const shares = classes.map((c) => {
    const mask = new Float32Array(labels.data.length);
    for (let n = 0; n < mask.length; n++) mask[n] = labels.data[n] === c.value ? 1 : 0;
    const r = resampleInPlane(createVolume({ ...labels, data: mask }), scale, 0).data;
    for (let n = 0; n < count; n++) background[n] = background[n]! - r[n]!;
    return r;
  });
  best.set(background);
  shares.forEach((r, c) => {
    for (let n = 0; n < count; n++) {
      if (r[n]! > best[n]!) {
        best[n] = r[n]!;
        targets[n] = c + 1;
      }
    }
  });
  return { images, targets };
}
