// CSPR's variable-dimension transform (Zhang et al., arXiv 2201.01426): a labelled 3-channel 2D
// image becomes a 1-channel volume of depth 3, its channel order shuffled so that depth carries
// no order, for supervised pre-training of a genuine 3D network.
import { PHANTOM_ORGANS, phantomSubject } from '@tomosort/samples';
import { uniformInt } from '@tomosort/random';
import type { Rng } from '@tomosort/random';
import { applyWindow } from '@tomosort/volume';
import type { HuWindow, Volume } from '@tomosort/volume';
import { PretextError } from './errors';
import { prepareVolume } from './prepare';
import type { PrepareOptions, PreparedVolume } from './prepare';
import type { CubeBatch } from './proxy3d';

/** Slices per CSPR volume: a 3-channel image's channels. */
export const CSPR_DEPTH = 3;

/**
 * Labelled 3-channel images: slice k of each volume, with slices k − 1 and k + 1 as its other two
 * channels (a CT slab: the nearest thing CT has to a colour image), and one class per slice.
 */
export interface LabelledSlices {
  readonly volumes: readonly PreparedVolume[];
  /** Per volume, per slice: its class index, or −1 (an end slice, or no class: not drawn). */
  readonly labels: readonly Int32Array[];
  /** Class names, by index. */
  readonly classes: readonly string[];
}

/**
 * The phantom cohort as labelled 2D data (it installs with the code, its labels are exact): slice
 * k's class is the organ covering most of slice k of the label map, body and air not counted
 * (slices with no organ are not drawn). Subjects `first` … `first + subjects − 1` of cohort `seed`.
 * `classes` (e.g. the training set's, for held-out subjects) fixes the class indices; slices of
 * other organs are then not drawn. Default: the organs that are some slice's class here.
 */
export function labelledPhantomSlices(opts: {
  readonly subjects: number;
  readonly seed: number;
  readonly first?: number;
  readonly phantomSize?: number;
  readonly prepare: PrepareOptions;
  readonly classes?: readonly string[];
}): LabelledSlices {
  if (opts.prepare.plane !== 'axial') throw new PretextError(`the phantom's slice labels are axial; got plane ${opts.prepare.plane}`);
  const organs = PHANTOM_ORGANS.filter((o) => o.name !== 'body');
  const volumes: PreparedVolume[] = [];
  const perVolume: Int32Array[] = [];
  for (let n = 0; n < opts.subjects; n++) {
    const index = (opts.first ?? 0) + n;
    const s = phantomSubject(index, opts.seed, opts.phantomSize === undefined ? {} : { size: opts.phantomSize });
    const p = prepareVolume(`phantom-${String(index).padStart(3, '0')}@${opts.seed}`, s.volume, opts.prepare);
    if (p.slices !== s.labels.dims[2]) throw new PretextError(`${p.id}: ${p.slices} prepared slices for ${s.labels.dims[2]} labelled ones`);
    volumes.push(p);
    perVolume.push(dominantOrgans(s.labels, organs.map((o) => o.id)));
  }
  // Classes: the organs that are some slice's class, in PHANTOM_ORGANS order (or the given ones).
  const names = opts.classes ?? organs.filter((o) => perVolume.some((l) => l.includes(o.id as number))).map((o) => o.name);
  const unknown = names.find((n) => !organs.some((o) => o.name === n));
  if (unknown !== undefined) throw new PretextError(`"${unknown}" is not a phantom organ (${organs.map((o) => o.name).join(', ')})`);
  const classOf = new Map<number, number>(names.map((n, c) => [organs.find((o) => o.name === n)!.id, c]));
  const labels = perVolume.map((l) => Int32Array.from(l, (id, k) => (k === 0 || k === l.length - 1 ? -1 : (classOf.get(id) ?? -1))));
  return { volumes, labels, classes: [...names] };
}

/** Per slice of `labels`: the id among `ids` with the most voxels, or −1 when none is there. */
function dominantOrgans(labels: Volume<Uint8Array>, ids: readonly number[]): Int32Array {
  const [nx, ny, nz] = labels.dims;
  const out = new Int32Array(nz).fill(-1);
  const counts = new Int32Array(256);
  for (let k = 0; k < nz; k++) {
    counts.fill(0);
    for (let p = k * nx * ny; p < (k + 1) * nx * ny; p++) counts[labels.data[p]!]! += 1;
    let best = 0;
    for (const id of ids) if (counts[id]! > best) (best = counts[id]!), (out[k] = id);
  }
  return out;
}

/**
 * A CSPR batch: `samples` labelled slices, class-balanced — a class drawn uniformly among those
 * with slices, then one of its slices (the phantom's classes are far from even: the commonest
 * covers about three quarters of the slices) — each becoming a volume of depth 3 — slices k − 1, k, k + 1, windowed to [0, 1], in a
 * uniformly shuffled order (all 6 equally likely) — `[N, 3, S, S, 1]`, with the slice's class.
 */
export function csprBatch(data: LabelledSlices, cfg: { readonly samples: number; readonly window: HuWindow }, rng: Rng): CubeBatch {
  if (!Number.isInteger(cfg.samples) || cfg.samples < 1) throw new PretextError(`samples must be an integer ≥ 1, got ${cfg.samples}`);
  const byClass = data.classes.map((_, c) => data.labels.flatMap((l, v) => [...l].flatMap((x, k) => (x === c ? [[v, k, c] as const] : [])))).filter((g) => g.length > 0);
  if (byClass.length === 0) throw new PretextError('no labelled slices to draw a CSPR batch from');
  const S = data.volumes[0]!.size;
  const plane = S * S;
  const images = new Float32Array(cfg.samples * CSPR_DEPTH * plane);
  const labels = new Int32Array(cfg.samples);
  for (let n = 0; n < cfg.samples; n++) {
    const group = byClass[uniformInt(rng, 0, byClass.length - 1)]!;
    const [v, k, c] = group[uniformInt(rng, 0, group.length - 1)]!;
    const p = data.volumes[v]!;
    if (p.size !== S) throw new PretextError(`${p.id}: slice size ${p.size} differs from ${data.volumes[0]!.id}'s ${S}`);
    const order = [k - 1, k, k + 1];
    for (let i = 2; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    order.forEach((s, d) => images.set(p.data.subarray(s * plane, (s + 1) * plane), (n * CSPR_DEPTH + d) * plane));
    labels[n] = c;
  }
  applyWindow(images, cfg.window, images);
  return { images, shape: [cfg.samples, CSPR_DEPTH, S, S, 1], perSample: 1, labels };
}
