/** Bad annotations, settings or models for segmentation; the message names what and where. */
export class SegmentError extends Error {
  override readonly name = 'SegmentError';
}

export const isSegmentError = (e: unknown): e is SegmentError => e instanceof SegmentError;
