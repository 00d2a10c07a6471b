// The one seeded random source of tomosort. Every stream here is part of the reproducibility
// contract (see README.md): results stored by experiments depend on these exact values, so no
// function may change what it returns for a given input.

/** A seeded generator of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit-state PRNG, fast and good enough for
 * synthetic data. The same seed gives the same sequence on every JavaScript engine.
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Mixes several integers into one 32-bit seed: from the FNV offset basis 0x811c9dc5, each part
 * (as `p >>> 0`: truncated, modulo 2³²) is xored in and the murmur3 finaliser (×0x85ebca6b, ^>>>13, ×0xc2b2ae35,
 * ^>>>16) applied. `mixSeed()` is 0x811c9dc5.
 */
export function mixSeed(...parts: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/**
 * FNV-1a (32-bit: offset basis 0x811c9dc5, prime 0x01000193) of a string, one step per code
 * point on that code point's first UTF-16 code unit (`for (const ch of s) … ch.charCodeAt(0)`).
 * For text without characters beyond U+FFFF — every id tomosort hashes — that is plain FNV-1a over
 * the UTF-16 code units; a character beyond U+FFFF contributes only its high surrogate. Kept so
 * because the seeds of stored experiment results were derived that way.
 */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (const ch of s) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** Uniform number in [lo, hi). */
export const uniform = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng();

/** Integer in [lo, hi], both ends included. */
export const uniformInt = (rng: Rng, lo: number, hi: number): number => lo + Math.floor((hi - lo + 1) * rng());

/**
 * Fills `out` with N(0, 1) samples by the Box–Muller transform (two samples per pair of uniforms).
 */
export function fillGaussian(rng: Rng, out: Float32Array): Float32Array {
  for (let n = 0; n < out.length; n += 2) {
    const u = 1 - rng(); // (0, 1]: log(u) is finite
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * rng();
    out[n] = r * Math.cos(theta);
    if (n + 1 < out.length) out[n + 1] = r * Math.sin(theta);
  }
  return out;
}
