import { initBestBackend } from '@tomosort/backend';
import { PacsClient } from '@tomosort/pacs';
import { ASSETS_PATH, DICOMWEB_PATH } from '../ids';
import { runExport, runFinetune, runScore } from './jobs';
import type { FromWorker, ToWorker } from './protocol';

/**
 * The training worker: everything heavy runs here, off the viewer's thread. It reads the series
 * through the same-origin DICOMweb proxy and writes the SEG back the same way: pixel data never
 * leave the workstation except to the PACS they came from.
 */
const scope = self as unknown as { postMessage(m: unknown, transfer?: Transferable[]): void; onmessage: ((e: MessageEvent) => void) | null };
const origin = self.location.origin;
const pacs = new PacsClient({ baseUrl: origin, dicomWebRoot: DICOMWEB_PATH.slice(1) });
let running: AbortController | undefined;

function post(m: FromWorker): void {
  const transfer = m.type === 'predicted' ? m.slices.map((s) => s.labels.buffer as ArrayBuffer) : [];
  scope.postMessage(m, transfer);
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e));

scope.onmessage = (event: MessageEvent) => {
  const msg = event.data as ToWorker;
  const task = async (): Promise<void> => {
    switch (msg.type) {
      case 'start': {
        const info = await initBestBackend(msg.preference, { wasmPaths: `${origin}${ASSETS_PATH}/wasm/` });
        post({ type: 'ready', backend: info.label, fallbacks: info.failures.map((f) => `${f.backend}: ${describe(f.error)}`) });
        return;
      }
      case 'finetune':
        running = new AbortController();
        try {
          await runFinetune(pacs, msg.job, post, running.signal);
        } finally {
          running = undefined;
        }
        return;
      case 'export':
        await runExport(pacs, msg.job, post);
        return;
      case 'score':
        await runScore(pacs, msg.job, post);
        return;
      case 'cancel':
        running?.abort();
        return;
    }
  };
  task().catch((e: unknown) => post({ type: 'error', message: describe(e) }));
};
