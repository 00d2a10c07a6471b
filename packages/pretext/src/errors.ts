/** Base class of pretext errors: bad batch settings or volumes that cannot give a batch. */
export class PretextError extends Error {
  override readonly name: string = 'PretextError';
}

export const isPretextError = (e: unknown): e is PretextError => e instanceof PretextError;
