/** Base class of every error thrown by @tomosort/models. */
export class ModelError extends Error {
  override readonly name: string = 'ModelError';
}

/** An architecture description (encoder, head or decoder spec) is not valid. */
export class SpecError extends ModelError {
  override readonly name = 'SpecError';
}

/** A tensor given to a model or layer has the wrong rank, channels or size. */
export class ShapeError extends ModelError {
  override readonly name = 'ShapeError';
  constructor(
    /** Who complained, e.g. `encoder` or `head/fc`. */
    readonly where: string,
    /** The expected shape; a name stands for "any size", e.g. `['N', 'H', 'W', 1]`. */
    readonly expected: readonly (number | string)[],
    readonly got: readonly number[],
  ) {
    super(`Error in ${where}: expected input ${formatShape(expected)}, got ${formatShape(got)}`);
  }
}

/** A variable name that the parameter store does not hold. */
export class UnknownVariableError extends ModelError {
  override readonly name = 'UnknownVariableError';
  constructor(readonly variable: string) {
    super(`no variable named ${variable}`);
  }
}

/** The model.json part of saved artifacts is not a tomosort model manifest this build can read. */
export class ManifestError extends ModelError {
  override readonly name = 'ManifestError';
}

/** The weight bytes do not hash to the manifest's sha-256 checksum (corrupted or mixed files). */
export class ChecksumError extends ModelError {
  override readonly name = 'ChecksumError';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`weights.bin does not match its checksum (model.json says sha-256 ${expected}, the bytes hash to ${actual})`);
  }
}

/** One reason why saved weights do not fit a model. */
export type WeightProblem =
  /** Saved and expected shapes differ. */
  | { readonly kind: 'shape'; readonly variable: string; readonly saved: readonly number[]; readonly expected: readonly number[] }
  /** The model has the variable, the saved weights do not. */
  | { readonly kind: 'missing'; readonly variable: string; readonly expected: readonly number[] }
  /** The saved weights hold a variable the model does not have. */
  | { readonly kind: 'unexpected'; readonly variable: string; readonly saved: readonly number[] };

/** Saved weights do not fit the model: every offending variable is named, with the reason. */
export class WeightsMismatchError extends ModelError {
  override readonly name = 'WeightsMismatchError';
  constructor(readonly problems: readonly WeightProblem[]) {
    super(
      `the saved weights do not fit the model (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${describeProblem(p)}`).join('\n'),
    );
  }
}

/** Reading or writing model artifacts failed (handler error, missing file, no handler for a URL). */
export class ModelIOError extends ModelError {
  override readonly name = 'ModelIOError';
  constructor(
    message: string,
    /** The folder, file or URL involved, when there is one. */
    readonly location?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isModelError = (e: unknown): e is ModelError => e instanceof ModelError;

/** `[3,3,64,128]`, `[N,H,W,1]`. */
export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(',')}]`;
}

function describeProblem(p: WeightProblem): string {
  switch (p.kind) {
    case 'shape':
      return `${p.variable}: saved shape ${formatShape(p.saved)} but the model expects ${formatShape(p.expected)}`;
    case 'missing':
      return `${p.variable}: missing from the saved weights (the model expects ${formatShape(p.expected)})`;
    case 'unexpected':
      return `${p.variable}: saved (shape ${formatShape(p.saved)}) but the model has no such variable`;
  }
}
