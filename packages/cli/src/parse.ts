import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './errors';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with errors turned into UsageError (exit code 2) that include the usage. */
export function parse<O extends Options>(args: readonly string[], options: O, usage: string, allowPositionals = true) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${usage}`);
  }
}

/** Parses an integer option, naming it in the error. */
export function intOption(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

/** Parses "A,B" into two numbers, naming the option in the error. */
export function pairOption(name: string, v: string | undefined, fallback: readonly [number, number]): [number, number] {
  if (v === undefined) return [fallback[0], fallback[1]];
  const parts = v.split(',').map(Number);
  if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x))) throw new UsageError(`--${name} takes two numbers "A,B", got "${v}"`);
  return [parts[0]!, parts[1]!];
}

/** Parses a positive number option. */
export function numOption(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new UsageError(`--${name} must be a positive number, got "${v}"`);
  return x;
}

/** Parses an option that takes one of a fixed set of words. */
export function oneOfOption<T extends string>(name: string, v: string | undefined, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${v}"`);
  return v as T;
}

/** Parses a comma-separated list of integers ≥ 0 ("10,20,30"). */
export function intListOption(name: string, v: string): number[] {
  const parts = v.split(',').map((x) => x.trim());
  if (parts.some((x) => !/^\d+$/.test(x))) throw new UsageError(`--${name} takes integers ≥ 0 separated by commas, got "${v}"`);
  return parts.map(Number);
}

/** Options every PACS-using command shares. */
export const PACS_OPTION = { pacs: { type: 'string' } } as const;
export const JSON_OPTION = { json: { type: 'boolean', default: false } } as const;
