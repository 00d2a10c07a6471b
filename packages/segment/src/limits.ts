import { forwardCost } from '@tomosort/models';
import type { ModelSpec } from '@tomosort/models';
import { SegmentError } from './errors';

/** Slice sizes fine-tuning accepts: below 16 the encoders' deepest maps are a pixel wide; above 512, hours a step here. */
export const FINETUNE_SIZE_RANGE = [16, 512] as const;
/** Most steps of one phase: 100,000 steps of the smallest net are already a day on a CPU. */
export const FINETUNE_MAX_STEPS = 100_000;

/**
 * tf.memory peak of one U-Net fine-tuning step (Adam, 3 classes), measured on the native backend
 * (2026-12-01): about 36 bytes per trainable parameter when the batch is small (weights, gradients,
 * Adam's two moments and the update's temporaries), else 20 per parameter plus a per-pixel cost of
 * the batch's activations. small: 125,843 parameters, 2.7–3.0 KB per pixel (32²–96²); resnet18:
 * 14.4 M parameters, 519 MB up to 96² batch 3, 962 MB at 128² batch 8, 1.80 GB at 192² batch 8.
 */
const BYTES_PER_PIXEL: Readonly<Record<string, number>> = { small: 2_800, resnet18: 5_200 };
/** Encoders not measured: the largest measured figure. */
const DEFAULT_BYTES_PER_PIXEL = 5_200;

/**
 * Backends without tomosort's fused batch norm (cpu, wasm without the addon, webgpu) keep each
 * composite op's intermediates: the cpu backend peaked at 2.2× the native figure (small, 48²,
 * batch 2); 2.5 leaves a margin.
 */
export const COMPOSITE_MEMORY_FACTOR = 2.5;

function memoryBytes(encoderName: string, params: number, size: number, batch: number, fused: boolean): number {
  const perPixel = BYTES_PER_PIXEL[encoderName] ?? DEFAULT_BYTES_PER_PIXEL;
  return Math.max(36 * params, 20 * params + perPixel * batch * size * size) * (fused ? 1 : COMPOSITE_MEMORY_FACTOR);
}

/**
 * Estimated peak memory (bytes) of a fine-tuning step of the U-Net `spec` (its trainable values
 * counted by `forwardCost`): the native figure, × {@link COMPOSITE_MEMORY_FACTOR} unless `fused`
 * (the native backend).
 */
export function finetuneMemoryBytes(spec: ModelSpec, size: number, batch: number, fused = true): number {
  return memoryBytes(spec.encoder.name, forwardCost(spec, size).params, size, batch, fused);
}

export interface FinetuneSettings {
  readonly size: number;
  readonly batch: number;
  readonly frozenSteps: number;
  readonly steps: number;
  /** The U-Net to fine-tune. */
  readonly spec: ModelSpec;
  /** Memory the backend can give (e.g. 4 GiB for wasm32); unchecked when absent. */
  readonly memoryLimitBytes?: number;
  /** Whether the backend has the fused kernels (native); default true. */
  readonly fused?: boolean;
}

const gb = (b: number) => `${(b / 2 ** 30).toFixed(1)} GB`;

/**
 * Refuses, in plain words and before anything runs, settings that cannot give a usable result or
 * would not fit: the size outside {@link FINETUNE_SIZE_RANGE}, steps beyond {@link FINETUNE_MAX_STEPS},
 * a batch < 1, or an estimated step memory ({@link finetuneMemoryBytes}) above the limit.
 */
export function checkFinetuneSettings(s: FinetuneSettings): void {
  const [lo, hi] = FINETUNE_SIZE_RANGE;
  if (!Number.isInteger(s.size) || s.size < lo || s.size > hi) throw new SegmentError(`input size ${s.size} is outside ${lo}–${hi} pixels`);
  if (!Number.isInteger(s.batch) || s.batch < 1) throw new SegmentError(`batch ${s.batch} must be a whole number ≥ 1`);
  for (const [name, n] of [['warm-up steps', s.frozenSteps], ['steps', s.steps]] as const) {
    if (!Number.isInteger(n) || n < 0 || n > FINETUNE_MAX_STEPS) throw new SegmentError(`${name} ${n} must be a whole number from 0 to ${FINETUNE_MAX_STEPS.toLocaleString('en')}`);
  }
  const fused = s.fused ?? true;
  const params = forwardCost(s.spec, s.size).params;
  const need = memoryBytes(s.spec.encoder.name, params, s.size, s.batch, fused);
  if (s.memoryLimitBytes !== undefined && need > s.memoryLimitBytes) {
    let fits = s.size;
    while (fits > lo && memoryBytes(s.spec.encoder.name, params, fits, s.batch, fused) > s.memoryLimitBytes) fits -= 8;
    throw new SegmentError(
      `a step at ${s.size}² with batch ${s.batch} needs about ${gb(need)}, more than the ${gb(s.memoryLimitBytes)} this backend holds: use size ≤ ${fits} or a smaller batch`,
    );
  }
}
