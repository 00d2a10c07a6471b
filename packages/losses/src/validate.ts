// Up-front checks shared by the losses. Internal: not exported from index.ts.
import type { DataType, Tensor } from '@tensorflow/tfjs-core';
import { DtypeError, OptionError, ShapeError } from './errors';

/** `[4,8]`, as in tfjs' own messages. */
export const fmtShape = (shape: readonly number[]): string => `[${shape.join(',')}]`;

/** Throws unless `t` has rank `rank`; `layout` names the axes, e.g. `[B, K]`. */
export function assertRank(op: string, name: string, t: Tensor, rank: number, layout: string): void {
  if (t.rank !== rank) {
    throw new ShapeError(op, `${name} must be rank ${rank} ${layout}, got shape ${fmtShape(t.shape)}`, { [name]: t.shape });
  }
}

/** Throws "Error in op: a [4,8] and b [4,6] differ" unless the shapes are equal. */
export function assertSameShape(op: string, nameA: string, a: Tensor, nameB: string, b: Tensor): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(op, `${nameA} ${fmtShape(a.shape)} and ${nameB} ${fmtShape(b.shape)} differ`, {
      [nameA]: a.shape,
      [nameB]: b.shape,
    });
  }
}

export function assertDtype(op: string, name: string, t: Tensor, allowed: readonly DataType[]): void {
  if (!allowed.includes(t.dtype)) throw new DtypeError(op, name, allowed, t.dtype);
}

export function assertFinite(op: string, option: string, value: number, min: number, minInclusive: boolean): void {
  const ok = Number.isFinite(value) && (minInclusive ? value >= min : value > min);
  if (!ok) throw new OptionError(op, option, value, `a finite number ${minInclusive ? '≥' : '>'} ${min}`);
}

/** Checks two embedding batches [N, D] float32 of the same shape (named `names` in messages); returns [N, D]. */
export function assertEmbeddingPair(op: string, z1: Tensor, z2: Tensor, names: readonly [string, string] = ['z1', 'z2']): [number, number] {
  const [a, b] = names;
  assertRank(op, a, z1, 2, '[N, D]');
  assertRank(op, b, z2, 2, '[N, D]');
  assertSameShape(op, a, z1, b, z2);
  assertDtype(op, a, z1, ['float32']);
  assertDtype(op, b, z2, ['float32']);
  return [z1.shape[0]!, z1.shape[1]!];
}
