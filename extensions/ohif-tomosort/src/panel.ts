import { createElement as h, useEffect, useState } from 'react';
import type { ReactElement } from 'react';
import { createRoot } from 'react-dom/client';
import type { Root } from 'react-dom/client';
import { MODELS_PATH } from './ids';
import { activeSeries, describeModel } from './ohif';
import type { ActiveSeries, ServicesManagerLike, StoredModel } from './ohif';

/**
 * The panel runs as an island: the host's React (18.3.1, not exposed) renders a plain <div>
 * created with our own React copy (elements are plain objects, so that is compatible); a ref
 * callback mounts our own root into it. Hooks are only used inside the island, where our React
 * renders: hooks from our copy inside the host's tree would crash the route.
 */
let services: ServicesManagerLike | undefined;
const roots = new WeakMap<HTMLElement, Root>();

export function setServicesManager(sm: ServicesManagerLike): void {
  services = sm;
}

const POLL_MS = 400;

function useActiveSeries(): ActiveSeries | undefined {
  const [series, setSeries] = useState<ActiveSeries | undefined>(undefined);
  useEffect(() => {
    // OHIF has no single event for "active viewport or its slice changed"; polling a few cheap
    // getters is simpler and cannot miss one.
    const tick = () => {
      if (!services) return;
      const next = activeSeries(services.services);
      setSeries((prev) =>
        prev?.seriesInstanceUID === next?.seriesInstanceUID && prev?.currentSlice === next?.currentSlice && prev?.slices === next?.slices ? prev : next,
      );
    };
    tick();
    const timer = setInterval(tick, POLL_MS);
    return () => clearInterval(timer);
  }, []);
  return series;
}

type Loaded<T> = { state: 'loading' } | { state: 'ok'; value: T } | { state: 'error'; message: string };

function useModels(): Loaded<StoredModel[]> {
  const [models, setModels] = useState<Loaded<StoredModel[]>>({ state: 'loading' });
  useEffect(() => {
    fetch(`${MODELS_PATH}/index.json`)
      .then(async (r) => {
        if (!r.ok) throw new Error(`the model store answered HTTP ${r.status}`);
        setModels({ state: 'ok', value: (await r.json()) as StoredModel[] });
      })
      .catch((e: unknown) => setModels({ state: 'error', message: `Could not list the models: ${e instanceof Error ? e.message : String(e)}` }));
  }, []);
  return models;
}

function useWebGpu(): Loaded<string> {
  const [gpu, setGpu] = useState<Loaded<string>>({ state: 'loading' });
  useEffect(() => {
    const nav = navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> } };
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
      .catch((e: unknown) => setGpu({ state: 'error', message: `WebGPU failed: ${e instanceof Error ? e.message : String(e)}` }));
  }, []);
  return gpu;
}

const section = (title: string, testId: string, ...children: (ReactElement | string | null)[]): ReactElement =>
  h('section', { 'data-testid': testId, style: { marginBottom: '12px' } }, h('h3', { style: { fontWeight: 600, margin: '0 0 4px' } }, title), ...children);

function Panel(): ReactElement {
  const series = useActiveSeries();
  const models = useModels();
  const gpu = useWebGpu();
  return h(
    'div',
    { 'data-testid': 'tomosort-panel', style: { padding: '8px', color: '#e0e6ee', fontSize: '13px', lineHeight: 1.4 } },
    h('h2', { style: { fontSize: '15px', fontWeight: 700, margin: '0 0 8px' } }, 'Sparse annotation'),
    section(
      'Series',
      'tomosort-series',
      series
        ? h('div', null, `${series.description} (${series.modality}), slice ${series.currentSlice + 1} of ${series.slices}`)
        : h('div', null, 'Open a series in the viewer.'),
    ),
    section(
      'Models',
      'tomosort-models',
      models.state === 'loading'
        ? h('div', null, 'Loading the model store…')
        : models.state === 'error'
          ? h('div', { role: 'alert', style: { color: '#ff9a9a' } }, models.message)
          : models.value.length === 0
            ? h('div', null, 'No pre-trained model in the store yet (pnpm tomosort pretrain --out … into the store folder).')
            : h('ul', { style: { margin: 0, paddingLeft: '16px' } }, ...models.value.map((m) => h('li', { key: m.name }, describeModel(m)))),
    ),
    section(
      'Compute',
      'tomosort-compute',
      h('div', { role: 'status' }, gpu.state === 'loading' ? 'Checking WebGPU…' : gpu.state === 'ok' ? `WebGPU: ${gpu.value}` : gpu.message),
    ),
  );
}

/** Mounts (or unmounts, when the host removes the div) our island. */
function mount(div: HTMLDivElement | null): void {
  if (div === null) return;
  if (roots.has(div)) return;
  const root = createRoot(div);
  roots.set(div, root);
  root.render(h(Panel));
  const watch = new MutationObserver(() => {
    if (!div.isConnected) {
      watch.disconnect();
      roots.delete(div);
      root.unmount();
    }
  });
  watch.observe(document.body, { childList: true, subtree: true });
}

/** The component the host renders (with only a `key` prop): no hooks, one div. */
export function PanelHost(): ReactElement {
  return h('div', { ref: mount, style: { height: '100%', overflow: 'auto' } });
}
