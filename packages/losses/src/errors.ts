import type { DataType } from '@tensorflow/tfjs-core';

/** Base class of every error thrown by @tomosort/losses. The message starts "Error in <op>: ". */
export class LossError extends Error {
  override readonly name: string = 'LossError';
  constructor(
    /** The public function that rejected its input, e.g. `sortingLoss`. */
    readonly op: string,
    detail: string,
  ) {
    super(`Error in ${op}: ${detail}`);
  }
}

/** Tensor ranks or sizes that do not fit together; `shapes` holds every shape involved, by argument name. */
export class ShapeError extends LossError {
  override readonly name = 'ShapeError';
  constructor(
    op: string,
    detail: string,
    readonly shapes: Readonly<Record<string, readonly number[]>>,
  ) {
    super(op, detail);
  }
}

/** A tensor of the wrong dtype (e.g. float labels where int32 class indices are expected). */
export class DtypeError extends LossError {
  override readonly name = 'DtypeError';
  constructor(
    op: string,
    readonly input: string,
    readonly expected: readonly DataType[],
    readonly got: DataType,
  ) {
    super(op, `${input} must be ${expected.join(' or ')}, got ${got}`);
  }
}

/** An option outside its domain (a temperature ≤ 0, a negative weight, an unknown variant). */
export class OptionError extends LossError {
  override readonly name = 'OptionError';
  constructor(
    op: string,
    readonly option: string,
    readonly value: unknown,
    expectation: string,
  ) {
    super(op, `${option} must be ${expectation}, got ${String(value)}`);
  }
}

export const isLossError = (e: unknown): e is LossError => e instanceof LossError;
