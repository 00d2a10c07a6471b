/** A reference or stack that cannot be localized; the message says why. */
export class LocalizeError extends Error {
  override readonly name = 'LocalizeError';
}
