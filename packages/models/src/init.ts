/**
 * Seeded initialisers. Values are drawn in JavaScript (not by a backend kernel) and uploaded with
 * `tf.tensor`, so a seed gives bit-identical weights on every backend (cpu, wasm, webgpu) and in
 * Node and browsers alike. Each variable draws from its own stream, seeded by (seed, variable
 * name): adding or removing a variable does not change the values of the others.
 */

/** A seeded stream of random numbers. */
export interface Random {
  /** Uniform in [0, 1) with 32 random bits. */
  uniform(): number;
  /** Standard normal N(0, 1) (Box–Muller). */
  normal(): number;
}

/** Fills a Float32Array for a variable of the given shape. */
export type Initializer = (shape: readonly number[], random: Random) => Float32Array;

/**
 * FNV-1a over UTF-16 code units, mixed with the seed (32-bit): the seed enters the offset basis
 * (0x811c9dc5 ^ seed·0x9e3779b1) before the name is hashed. That is not `hashString` of
 * `@tomosort/random` (whose basis is fixed) followed by any `mixSeed`, so the two cannot be
 * composed into it; every seeded initial weight (and so every result an experiment stored)
 * depends on these values, so the algorithm stays as it is (at seed 0 it equals `hashString(name)` for names within U+0000–U+FFFF).
 */
function hashName(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The random stream of one variable: mulberry32 seeded by `hash(seed, name)`.
 * @param seed any integer (taken modulo 2³²)
 */
export function randomFor(seed: number, name: string): Random {
  let state = hashName(seed, name);
  let spare: number | undefined;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    uniform: () => next() / 4294967296,
    normal: () => {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      const u1 = (next() + 1) / 4294967297; // (0, 1]: log never sees 0
      const u2 = next() / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u1));
      spare = r * Math.sin(2 * Math.PI * u2);
      return r * Math.cos(2 * Math.PI * u2);
    },
  };
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** All zeros (batch-norm β and running mean, biases of the U-Net classifier). */
export const zeros: Initializer = (shape) => new Float32Array(sizeOf(shape));

/** All ones (batch-norm γ and running variance). */
export const ones: Initializer = (shape) => new Float32Array(sizeOf(shape)).fill(1);

/** N(0, std²). */
export function normal(std: number): Initializer {
  return (shape, random) => {
    const out = new Float32Array(sizeOf(shape));
    for (let i = 0; i < out.length; i++) out[i] = std * random.normal();
    return out;
  };
}

/** U(−bound, bound). */
export function uniform(bound: number): Initializer {
  return (shape, random) => {
    const out = new Float32Array(sizeOf(shape));
    for (let i = 0; i < out.length; i++) out[i] = bound * (2 * random.uniform() - 1);
    return out;
  };
}

/**
 * Kaiming-normal for a conv filter `[fh, fw, inC, outC]` or `[fd, fh, fw, inC, outC]` (He et al. 2015, "Delving deep into
 * rectifiers"), mode fan_out and ReLU gain as torchvision's ResNet:
 * std = √(2 / fan_out), fan_out = fh·fw·outC (·fd in 3D).
 */
export function kaimingNormalConv(shape: readonly number[]): Initializer {
  // [k…, inC, outC]: fan_out = (product of the kernel's spatial sizes) · outC, 2D or 3D
  const outC = shape.at(-1) ?? 1;
  const taps = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return normal(Math.sqrt(2 / (taps * outC)));
}

/**
 * PyTorch's default for `nn.Linear` / `nn.Conv2d` weights and biases: U(−1/√fan_in, 1/√fan_in)
 * (kaiming_uniform with a = √5). `fanIn` = inputs per output (in features, or fh·fw·inC).
 */
export function torchDefault(fanIn: number): Initializer {
  return uniform(1 / Math.sqrt(fanIn));
}
