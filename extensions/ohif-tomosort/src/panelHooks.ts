import { useEffect, useRef, useState } from 'react';
import { ASSETS_PATH } from './ids';
import { activeSeries } from './ohif';
import type { ActiveSeries } from './ohif';
import { oneLine } from './panelMessage';
import { cornerstone, hostServices, notifyFailure } from './host';
import { modalityScale } from './segmentation';
import { sensibleVoi } from './voi';
import { deploymentCpu } from './cpuSettings';
import type { Compute, FromWorker, ToWorker } from './worker/protocol';

// The panel's hooks over the host and the worker: what the sections read.

/** How often the panel reads OHIF's active viewport (no single event tells of it). */
export const POLL_MS = 400;

export function useActiveSeries(): ActiveSeries | undefined {
  const [series, setSeries] = useState<ActiveSeries | undefined>(undefined);
  useEffect(() => {
    // OHIF has no single event for "active viewport or its slice changed"; polling a few cheap
    // getters is simpler and cannot miss one.
    const tick = () => {
      const services = hostServices();
      if (!services) return;
      const next = activeSeries(services);
      setSeries((prev) =>
        prev?.seriesInstanceUID === next?.seriesInstanceUID &&
        prev?.currentSlice === next?.currentSlice &&
        prev?.slices === next?.slices &&
        prev?.viewportId === next?.viewportId &&
        prev?.plane?.axis === next?.plane?.axis &&
        prev?.plane?.index === next?.plane?.index
          ? prev
          : next,
      );
    };
    tick();
    const timer = setInterval(tick, POLL_MS);
    return () => clearInterval(timer);
  }, []);
  return series;
}

export type Loaded<T> = { state: 'loading' } | { state: 'ok'; value: T } | { state: 'error'; message: string };

export function useWebGpu(): Loaded<string> {
  const [gpu, setGpu] = useState<Loaded<string>>({ state: 'loading' });
  useEffect(() => {
    const nav = navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> } };
    if (!nav.gpu) {
      setGpu({ state: 'error', message: 'WebGPU is not available in this browser: training will run on the CPU (wasm), more slowly.' });
      return;
    }
    nav.gpu
      .requestAdapter()
      .then((a) => {
        if (!a) setGpu({ state: 'error', message: 'No WebGPU adapter: training will run on the CPU (wasm), more slowly.' });
        else setGpu({ state: 'ok', value: [a.info?.vendor, a.info?.architecture, a.info?.description].filter(Boolean).join(' ') || 'adapter found' });
      })
      .catch((e: unknown) => setGpu({ state: 'error', message: `WebGPU failed: ${oneLine(e instanceof Error ? e.message : String(e))}` }));
  }, []);
  return gpu;
}

/** The panel's error line: shown in the panel and, when set, also as OHIF's notification. */
export function useErrorLine(): [string | undefined, (message: string | undefined) => void] {
  const [error, setErrorLine] = useState<string | undefined>(undefined);
  const setError = (message: string | undefined) => {
    setErrorLine(message);
    if (message) notifyFailure(message);
  };
  return [error, setError];
}

export function useWorker(onMessage: (m: FromWorker) => void): { post(m: ToWorker): void; backend: string | undefined; error: string | undefined; compute: Compute; setCompute(c: Compute): void } {
  const worker = useRef<Worker | null>(null);
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const [backend, setBackend] = useState<string | undefined>(undefined);
  const [error, setError] = useErrorLine();
  const [compute, setComputeState] = useState<Compute>('auto');
  useEffect(() => {
    const w = new Worker(`${window.location.origin}${ASSETS_PATH}/worker.mjs`, { type: 'module' });
    worker.current = w;
    w.onmessage = (e: MessageEvent<FromWorker>) => {
      if (e.data.type === 'ready') {
        const why = [...(e.data.fallbacks.length ? [`fallback; ${e.data.fallbacks.join('; ')}`] : []), ...(e.data.note ? [e.data.note] : [])];
        setBackend(e.data.backend + why.map((w) => ` (${w})`).join(''));
      }
      handler.current(e.data);
    };
    w.onerror = (e) => setError(`The training worker failed to start: ${e.message || 'unknown error'}`);
    w.postMessage({ type: 'start', compute: 'auto', ...deploymentCpu() } satisfies ToWorker);
    return () => w.terminate();
  }, []);
  const setCompute = (c: Compute) => {
    setComputeState(c);
    setBackend(undefined);
    worker.current?.postMessage({ type: 'start', compute: c, ...deploymentCpu() } satisfies ToWorker);
  };
  return { post: (m) => worker.current?.postMessage(m), backend, error, compute, setCompute };
}

/** Viewports (and the series in them) whose opening window was checked: once each, so a window the user sets stays. */
const voiChecked = new Set<string>();

/**
 * Replaces a useless header window of the series on screen, once per viewport and series
 * (`sensibleVoi`: CT soft tissue, MR its own percentiles); returns what it did, in words.
 */
export function useSensibleVoi(series: ActiveSeries | undefined): string | undefined {
  const [note, setNote] = useState<string | undefined>(undefined);
  const viewportId = series?.viewportId;
  const uid = series?.seriesInstanceUID;
  const modality = series?.modality;
  useEffect(() => {
    if (!viewportId || !uid || !modality) return;
    const key = `${viewportId}|${uid}`;
    let tries = 0;
    const check = (): boolean => {
      if (voiChecked.has(key)) return true;
      const vp = hostServices()?.cornerstoneViewportService.getCornerstoneViewport(viewportId);
      const id = vp?.getImageIds()[vp.getCurrentImageIdIndex()];
      const image = id ? cornerstone().cornerstone.cache.getImage(id) : undefined;
      const raw = image?.voxelManager?.getScalarData();
      if (!vp?.getProperties || !vp.setProperties || !image || !raw) return false;
      voiChecked.add(key);
      // In modality units, as the threshold reads them.
      const { slope, intercept } = modalityScale(image);
      const pixels = slope === 1 && intercept === 0 ? raw : Float32Array.from(raw, (v: number) => v * slope + intercept);
      const fix = sensibleVoi(modality, vp.getProperties().voiRange, pixels);
      if (fix) {
        vp.setProperties({ voiRange: fix.range });
        vp.render?.();
        setNote(`Display window: ${fix.why}.`);
      }
      return true;
    };
    const timer = setInterval(() => {
      try {
        if (check() || ++tries > 50) clearInterval(timer);
      } catch {
        clearInterval(timer); // the viewport went away meanwhile
      }
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [viewportId, uid, modality]);
  return note;
}
