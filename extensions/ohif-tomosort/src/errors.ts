/**
 * Base class of every failure the extension raises on purpose: its message is written for the
 * person at the viewer (what is wrong and what to do) and the panel shows it as it is, on one line.
 */
export class ExtensionError extends Error {
  override readonly name: string = 'ExtensionError';
}

/** The OHIF host or the browser lacks a piece the extension needs (`missing` names it). */
export class HostError extends ExtensionError {
  override readonly name = 'HostError';
  constructor(
    /** What is missing: `@ohif/mode-basic`, `@ohif/extension-cornerstone`, `IndexedDB`, … */
    readonly missing: string,
    message: string,
  ) {
    super(message);
  }
}

/** A model picked from disk or listed in the model store cannot be used. */
export class ModelChoiceError extends ExtensionError {
  override readonly name = 'ModelChoiceError';
  constructor(
    message: string,
    /** The file, the model's name, or the store's answer the message is about. */
    readonly context: { readonly file?: string; readonly model?: string; readonly status?: number } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The annotation (labels, the labelmap, its slices, the series under it) is not in a usable state. */
export class AnnotationError extends ExtensionError {
  override readonly name = 'AnnotationError';
  constructor(
    message: string,
    /** What the message is about; `slice` is 1-based, as the viewer shows it. */
    readonly context: {
      readonly label?: string;
      readonly segmentationId?: string;
      readonly slice?: number;
      /** A plane in any orientation (e.g. "row 40", "k:12"). */
      readonly plane?: string;
      readonly sopInstanceUID?: string;
      readonly seriesInstanceUID?: string;
    } = {},
  ) {
    super(message);
  }
}

/** A panel action needs a step done first (label a slice, choose a model, show a second series). */
export class StepMissingError extends ExtensionError {
  override readonly name = 'StepMissingError';
  constructor(
    /** The action that cannot start yet: `finetune`, `sync`, `localize`, … */
    readonly action: string,
    message: string,
  ) {
    super(message);
  }
}

/** True for every error the extension raises on purpose. */
export const isExtensionError = (e: unknown): e is ExtensionError => e instanceof ExtensionError;
