import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NativeUnavailableError } from './errors';

/** Convolution direction, as the addon numbers them. */
export const ConvKind = { Forward: 0, BackwardData: 1, BackwardWeights: 2 } as const;
export type ConvKind = (typeof ConvKind)[keyof typeof ConvKind];

/** Pooling kernel, as the addon numbers them. */
export const PoolKind = { MaxForward: 0, MaxBackward: 1, AvgForward: 2, AvgBackward: 3 } as const;
export type PoolKind = (typeof PoolKind)[keyof typeof PoolKind];

/**
 * The addon's functions (binding/addon.cc). `heap` is the tfjs-wasm heap; every tensor argument
 * is a byte offset into it (−1: absent). Calls are synchronous and throw an Error naming the
 * function on bad arguments or a oneDNN failure. Offsets are bounds-checked against the heap.
 */
export interface NativeAddon {
  /** params: [nsp, N, IC, OC, in×3, kernel×3, out×3, stride×3, dilation×3, padBefore×3, padAfter×3]. */
  conv(kind: ConvKind, heap: ArrayBuffer, params: Int32Array, a: number, b: number, bias: number, out: number, relu: number): void;
  convImplementation(kind: ConvKind, params: Int32Array, bias: number, relu: number): string;
  /** params: [N, C, inD, inH, inW, outD, outH, outW, fD, fH, fW, sD, sH, sW, padFront, padTop, padLeft, dilD, dilH, dilW]. */
  pool(kind: PoolKind, heap: ArrayBuffer, params: Int32Array, in0: number, in1: number, out: number): void;
  batchNormTrain(heap: ArrayBuffer, x: number, scale: number, offset: number, residual: number, y: number, mean: number, variance: number, rows: number, channels: number, epsilon: number, relu: number): void;
  batchNormTrainGrad(heap: ArrayBuffer, dy: number, x: number, scale: number, mean: number, variance: number, y: number, dx: number, dscale: number, doffset: number, dz: number, rows: number, channels: number, epsilon: number, relu: number): void;
  adam(heap: ArrayBuffer, v: number, m: number, s: number, g: number, vOut: number, mOut: number, sOut: number, n: number, lr: number, beta1: number, beta2: number, epsilon: number, step: number, weightDecay: number): void;
  matMul(heap: ArrayBuffer, a: number, b: number, out: number, batch: number, batchA: number, batchB: number, m: number, n: number, k: number, transposeA: number, transposeB: number): void;
  /** op 0 add, 1 multiply, 2 subtract; a or b one value when its flag is 1. */
  binary(op: number, heap: ArrayBuffer, a: number, b: number, out: number, n: number, aScalar: number, bScalar: number): void;
  setThreads(n: number): void;
  info(): { readonly onednn: string; readonly threads: number };
}

/** The environment switch that hides the addon (to run or test the wasm fallback): `TOMOSORT_NATIVE=off`. */
export const NATIVE_SWITCH = 'TOMOSORT_NATIVE';
/** Where to load the addon from instead of the package's build/ (e.g. next to a bundled CLI). */
export const NATIVE_ADDON_PATH = 'TOMOSORT_NATIVE_ADDON';

/** The built addon's path: `$TOMOSORT_NATIVE_ADDON`, else this package's build/tomosort_native.node. */
export function addonPath(): string {
  return process.env[NATIVE_ADDON_PATH] || fileURLToPath(new URL('../build/tomosort_native.node', import.meta.url));
}

let loaded: NativeAddon | undefined;

/**
 * Loads the addon once.
 *
 * @throws NativeUnavailableError with a one-line reason: hidden by `TOMOSORT_NATIVE=off`, not
 *   built (with the command that builds it), or the loader's own message (e.g. a missing
 *   libdnnl.so.2)
 */
export function loadAddon(): NativeAddon {
  const setting = process.env[NATIVE_SWITCH];
  if (setting === 'off' || setting === '0') throw new NativeUnavailableError(`${NATIVE_SWITCH}=${setting} hides the addon`);
  if (loaded) return loaded;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new NativeUnavailableError(`the addon is not built (${path} missing): run ./scripts/setup.sh, or pnpm --filter @tomosort/native build (needs g++ and libdnnl-dev)`);
  }
  try {
    loaded = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new NativeUnavailableError(`cannot load ${path}: ${first}`, { cause: e });
  }
  return loaded;
}
