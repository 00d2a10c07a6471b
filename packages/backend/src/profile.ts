import * as tf from '@tensorflow/tfjs-core';

/** One kernel's share of a profiled run: its total time and how often it ran. */
export interface KernelTime {
  readonly name: string;
  readonly ms: number;
  readonly calls: number;
}

/**
 * tf.profile's kernel records summed by kernel name, slowest first (ms to 0.01). A record whose
 * time the backend could not measure (an object instead of a number) counts as a call of 0 ms.
 */
export function kernelTimes(kernels: readonly { readonly name: string; readonly kernelTimeMs: unknown }[]): KernelTime[] {
  const byName = new Map<string, { ms: number; calls: number }>();
  for (const k of kernels) {
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls += 1;
    byName.set(k.name, e);
  }
  return [...byName].map(([name, e]) => ({ name, ms: +e.ms.toFixed(2), calls: e.calls })).sort((a, b) => b.ms - a.ms);
}

/** A profiled training step: its wall time and its kernels, slowest first. */
export interface StepProfile {
  readonly stepMs: number;
  readonly kernels: KernelTime[];
}

/**
 * Profiles the second step of a 2-step run (the first step creates the optimiser's slots and
 * compiles kernels): `run` trains 2 steps and reports each step's number and time through
 * `onStep`; the kernels tf.profile recorded after step 1's report are the second step's.
 */
export async function profileSecondStep(run: (onStep: (step: number, ms: number) => void) => Promise<unknown>): Promise<StepProfile> {
  const recorded = () => (tf.engine().state as unknown as { activeProfile: { kernels: unknown[] } }).activeProfile.kernels.length;
  let from = 0;
  let stepMs = 0;
  const p = await tf.profile(async () => {
    await run((step, ms) => {
      if (step === 1) from = recorded();
      else stepMs = ms;
    });
  });
  return { stepMs: +stepMs.toFixed(1), kernels: kernelTimes(p.kernels.slice(from)) };
}
