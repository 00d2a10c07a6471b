import { UsageError } from './errors';

/** A series spec split into what names the source and its `#key=value` suffixes. */
export interface SpecSuffixes {
  /** The spec without its suffixes: `sample:colin27`, `scan.nii.gz`, a UID. */
  readonly base: string;
  /** Suffix values by key, e.g. `slices` → `60-69`. */
  readonly params: ReadonlyMap<string, string>;
}

/** One `#key=value` at the end of a spec; a `#` not followed by `key=` stays part of the base (a file name). */
const SUFFIX = /#([a-z][a-z0-9-]*)=([^#]*)$/;

/**
 * Splits `spec#key=value#key=value…` into its base and suffixes, e.g.
 * `sample:colin27#slices=60-69` → base `sample:colin27`, slices `60-69`. Each command that takes
 * series lists the keys it knows (`known`); any other key, or a key given twice, is a UsageError.
 */
export function splitSpecSuffixes(spec: string, known: readonly string[]): SpecSuffixes {
  const params = new Map<string, string>();
  let base = spec;
  for (let m = SUFFIX.exec(base); m; m = SUFFIX.exec(base)) {
    const key = m[1]!;
    if (!known.includes(key)) {
      throw new UsageError(`${spec}: unknown suffix #${key}=…; known: ${known.map((k) => `#${k}=…`).join(', ') || 'none'}`);
    }
    if (params.has(key)) throw new UsageError(`${spec}: #${key}= is given twice`);
    params.set(key, m[2]!);
    base = base.slice(0, m.index);
  }
  if (base === '') throw new UsageError(`${spec}: names no series before its #suffixes`);
  return { base, params };
}

/** An inclusive range of slice indices. */
export interface SliceRange {
  readonly first: number;
  readonly last: number;
}

/** Parses the value of `#slices=`: `A-B` (inclusive, A ≤ B) or `A` alone, non-negative integers. */
export function parseSliceRange(value: string, spec: string): SliceRange {
  const m = /^(\d+)(?:-(\d+))?$/.exec(value);
  if (!m) throw new UsageError(`${spec}: #slices= takes FIRST-LAST (slice indices, inclusive) or one index, got "${value}"`);
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  if (last < first) throw new UsageError(`${spec}: #slices=${value} ends before it starts`);
  return { first, last };
}
