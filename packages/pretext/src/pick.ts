import type { Rng } from '@tomosort/random';
import { PretextError } from './errors';

/** `n` items drawn without replacement while possible (a fresh shuffle for each pass over the list). */
export function pickVolumes<T>(items: readonly T[], n: number, rng: Rng): T[] {
  if (items.length === 0) throw new PretextError('no volumes to draw a batch from');
  const out: T[] = [];
  while (out.length < n) {
    const pass = [...items];
    for (let i = pass.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [pass[i], pass[j]] = [pass[j]!, pass[i]!];
    }
    out.push(...pass.slice(0, n - out.length));
  }
  return out;
}
