/** A problem serving the viewer (missing OHIF build, port in use, …), worded for the user. */
export class ViewerError extends Error {
  override readonly name = 'ViewerError';
}
