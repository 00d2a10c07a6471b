import { PacsError } from '../errors';

/** Starting or stopping a local Orthanc failed. `logTail` holds the end of its log when there is one. */
export class LocalOrthancError extends PacsError {
  override readonly name = 'LocalOrthancError';
  constructor(
    message: string,
    readonly logTail: string | undefined = undefined,
    options?: { cause?: unknown },
  ) {
    super(logTail ? `${message}\n--- end of the Orthanc log ---\n${logTail}` : message, options);
  }
}

/** Hint appended when Orthanc or its DICOMweb plugin is missing. */
export const INSTALL_HINT =
  'install the Debian packages `orthanc` and `orthanc-dicomweb` (apt-get install -y orthanc orthanc-dicomweb)';

/** True when starting or stopping a local Orthanc failed. */
export const isLocalOrthancError = (e: unknown): e is LocalOrthancError => e instanceof LocalOrthancError;
