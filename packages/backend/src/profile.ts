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
