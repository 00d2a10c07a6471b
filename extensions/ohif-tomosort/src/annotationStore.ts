import type { JobClass, SliceLabels } from './worker/protocol';
import { HostError } from './errors';

/**
 * The sparse annotation of a series, kept in this browser's IndexedDB (keyed by series instance
 * UID) so it survives a reload: the labels, the labelled slices and the slices marked done, by
 * SOP instance. Nothing leaves the workstation.
 */
export interface SavedAnnotation {
  readonly seriesInstanceUID: string;
  /** ISO time of the save. */
  readonly savedAt: string;
  readonly classes: readonly JobClass[];
  /** Every slice of the labelmap holding a label or marked done, whole (planes drawn in a reformat are rows / columns of these). */
  readonly slices: readonly SliceLabels[];
  /** SOP instances marked done (they may hold background only). */
  readonly done: readonly string[];
  /** The annotated set's plane keys when saved ("k:12", "row:40", …; absent in records of older versions). */
  readonly planes?: readonly string[];
  /** Reformatted planes marked done (plane keys, "row:40" / "col:7"; absent in records of older versions). */
  readonly doneReformats?: readonly string[];
}

const DB_NAME = 'tomosort';
const STORE = 'annotations';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') {
      reject(new HostError('IndexedDB', 'this browser offers no IndexedDB to keep the annotation in'));
      return;
    }
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'seriesInstanceUID' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new HostError('IndexedDB', `cannot open the annotation store: ${req.error?.message ?? 'unknown error'}`));
  });
}

/** One request in its own transaction; the database is closed afterwards. */
async function request<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = run(tx.objectStore(STORE));
      // Resolved when the transaction commits, so a save is durable once it returns.
      tx.oncomplete = () => resolve(req.result as T);
      tx.onerror = () => reject(new HostError('IndexedDB', `the annotation store failed: ${tx.error?.message ?? 'unknown error'}`));
      tx.onabort = () => reject(new HostError('IndexedDB', `the annotation store gave up: ${tx.error?.message ?? 'aborted'}`));
    });
  } finally {
    db.close();
  }
}

export function saveAnnotation(a: SavedAnnotation): Promise<void> {
  return request<unknown>('readwrite', (s) => s.put(a)).then(() => undefined);
}

export function loadAnnotation(seriesInstanceUID: string): Promise<SavedAnnotation | undefined> {
  return request<SavedAnnotation | undefined>('readonly', (s) => s.get(seriesInstanceUID));
}

export function deleteAnnotation(seriesInstanceUID: string): Promise<void> {
  return request<unknown>('readwrite', (s) => s.delete(seriesInstanceUID)).then(() => undefined);
}
