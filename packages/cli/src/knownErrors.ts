import { isBackendError } from '@tomosort/backend';
import { isDicomError, isFormatError } from '@tomosort/dicom';
import { LocalizeError } from '@tomosort/localize';
import { isLossError } from '@tomosort/losses';
import { isModelError } from '@tomosort/models';
import { isNativeError } from '@tomosort/native';
import { isPacsError } from '@tomosort/pacs';
import { isPretextError } from '@tomosort/pretext';
import { isQueueError } from '@tomosort/queue';
import { isSampleError } from '@tomosort/samples';
import { SegmentError } from '@tomosort/segment';
import { TrainError } from '@tomosort/train';
import { isViewerError } from '@tomosort/viewer';
import { isVolumeError } from '@tomosort/volume';
import { CliError } from './errors';

/**
 * An error some package raised on purpose, with a message written for the user (a file, series,
 * URL or option named): the CLI prints its message alone. Anything else is a bug and keeps its stack.
 */
export const isKnownError = (e: unknown): e is Error =>
  e instanceof CliError ||
  e instanceof TrainError ||
  e instanceof LocalizeError ||
  e instanceof SegmentError ||
  isVolumeError(e) ||
  isDicomError(e) ||
  isFormatError(e) ||
  isSampleError(e) ||
  isPacsError(e) ||
  isBackendError(e) ||
  isNativeError(e) ||
  isLossError(e) ||
  isModelError(e) ||
  isPretextError(e) ||
  isQueueError(e) ||
  isViewerError(e);
