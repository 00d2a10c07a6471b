import { useEffect, useState } from 'react';
import { ModelChoiceError } from './errors';
import { MODELS_PATH } from './ids';
import type { StoredModel } from './ohif';
import { oneLine } from './panelMessage';
import type { ModelRef, ModelSummary } from './worker/protocol';

/**
 * The models the user can start from: the server's model store, models pre-trained in this
 * browser (IndexedDB, listed in localStorage), and a model.json + weights picked from disk.
 */
export interface ModelChoice {
  /** `store:<name>`, `browser:<name>` or `file:<name>`: the <select> value. */
  readonly id: string;
  readonly origin: 'store' | 'browser' | 'file';
  /** The store entry shape, so one summary line describes every origin. */
  readonly model: StoredModel;
  readonly ref: ModelRef;
}

const BROWSER_INDEX = 'tomosort.browserModels';

interface BrowserEntry {
  readonly name: string;
  readonly url: string;
  readonly summary: ModelSummary;
}

/** A manifest summary from the worker, in the store's manifest shape. */
export function storedFromSummary(name: string, s: ModelSummary): StoredModel {
  return { name, manifest: { method: s.method, inputSize: s.inputSize, huWindow: s.huWindow, steps: s.steps, architecture: { kind: s.kind, encoder: { name: s.encoder } } } };
}

function readBrowserIndex(): BrowserEntry[] {
  try {
    const raw = globalThis.localStorage?.getItem(BROWSER_INDEX);
    return raw ? (JSON.parse(raw) as BrowserEntry[]) : [];
  } catch {
    return []; // storage disabled or garbled: no browser models, nothing else breaks
  }
}

/** Remembers a model pre-trained in this browser. */
export function rememberBrowserModel(name: string, url: string, summary: ModelSummary): void {
  const next = [...readBrowserIndex().filter((e) => e.name !== name), { name, url, summary }];
  globalThis.localStorage?.setItem(BROWSER_INDEX, JSON.stringify(next));
}

/**
 * Reads a picked model.json for its manifest (the model's `modelTopology`). The worker checks
 * weights and checksum when it loads; this only describes the choice.
 */
export async function pickedModel(files: readonly File[]): Promise<ModelChoice> {
  const json = files.filter((f) => f.name.endsWith('.json'));
  if (json.length !== 1) throw new ModelChoiceError(`Choose one model.json together with its weights file(s); got ${json.length} .json file(s).`);
  let manifest: StoredModel['manifest'];
  try {
    manifest = (JSON.parse(await json[0]!.text()) as { modelTopology?: StoredModel['manifest'] }).modelTopology ?? null;
  } catch (e) {
    throw new ModelChoiceError(`${json[0]!.name} is not JSON: ${e instanceof Error ? e.message : String(e)}`, { file: json[0]!.name }, { cause: e });
  }
  if (!manifest || typeof manifest !== 'object' || !('inputSize' in manifest)) throw new ModelChoiceError(`${json[0]!.name} is not a tomosort model (its model.json has no manifest).`, { file: json[0]!.name });
  const name = json[0]!.name === 'model.json' ? `${files.length} file(s) from disk` : json[0]!.name;
  return { id: `file:${name}`, origin: 'file', model: { name, manifest }, ref: { kind: 'files', files: [...files] } };
}

export type Listed = { state: 'loading' } | { state: 'ok'; choices: ModelChoice[] } | { state: 'error'; message: string; choices: ModelChoice[] };

/** Store + browser + picked models; the browser's list is re-read on every render (it is small). */
export function useModelChoices(picked: ModelChoice | undefined): Listed {
  const [store, setStore] = useState<{ state: 'loading' } | { state: 'ok'; models: StoredModel[] } | { state: 'error'; message: string }>({ state: 'loading' });
  useEffect(() => {
    fetch(`${MODELS_PATH}/index.json`)
      .then(async (r) => {
        if (!r.ok) throw new ModelChoiceError(`the model store answered HTTP ${r.status}`, { status: r.status });
        setStore({ state: 'ok', models: (await r.json()) as StoredModel[] });
      })
      .catch((e: unknown) => setStore({ state: 'error', message: `Could not list the model store: ${oneLine(e instanceof Error ? e.message : String(e))}` }));
  }, []);
  if (store.state === 'loading') return store;
  const fromStore: ModelChoice[] =
    store.state === 'ok'
      ? store.models.map((m) => ({ id: `store:${m.name}`, origin: 'store', model: m, ref: { kind: 'url', url: `${window.location.origin}${MODELS_PATH}/${encodeURIComponent(m.name)}/model.json` } }))
      : [];
  const fromBrowser: ModelChoice[] = readBrowserIndex().map((e) => ({ id: `browser:${e.name}`, origin: 'browser', model: storedFromSummary(e.name, e.summary), ref: { kind: 'url', url: e.url } }));
  const choices = [...fromStore, ...fromBrowser, ...(picked ? [picked] : [])];
  return store.state === 'error' ? { state: 'error', message: store.message, choices } : { state: 'ok', choices };
}
