/** A problem serving the viewer (missing OHIF build, port in use, …), worded for the user. */
export class ViewerError extends Error {
  override readonly name = 'ViewerError';
}

/** True for every error @tomosort/viewer raises on purpose (its message is for the user). */
export const isViewerError = (e: unknown): e is ViewerError => e instanceof ViewerError;
