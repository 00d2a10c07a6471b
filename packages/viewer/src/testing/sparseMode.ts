import type { Page } from 'playwright-core';
import type { TrainingCompute } from '@tomosort/ohif-extension/worker/protocol';

/**
 * Drives our "Sparse annotation" mode in the published OHIF viewer the way a user does (the
 * real viewport, mouse wheel, panel buttons). Shared by the end-to-end test and `bench viewer`,
 * so both measure and check the same path.
 */

/** What the panel says once the study is open and the worker is up. */
export interface OpenedStudy {
  /** The worker's backend line, e.g. "webgpu (SwiftShader)". */
  readonly backend: string;
  /** The WebGPU adapter line, or why there is none. */
  readonly webgpu: string;
  /** ms from navigation: the series' slices listed, the worker ready. */
  readonly seriesMs: number;
  readonly workerMs: number;
}

/**
 * Opens a study in the mode and waits for the series and the worker. `compute` picks the panel's
 * Compute choice ('auto' is the panel's default: wasm when the only WebGPU adapter is software).
 */
export async function openInSparseMode(
  page: Page,
  viewerUrl: string,
  study: string,
  slices: number,
  compute: 'auto' | 'webgpu' | 'wasm' = 'auto',
  via: 'url' | 'study-list' = 'url',
): Promise<OpenedStudy> {
  const t0 = Date.now();
  if (via === 'study-list') {
    // As a radiologist starts: the study list, the row's action menu, "Launch Workflow: Sparse annotation".
    await page.goto(viewerUrl);
    const menu = page.getByRole('button', { name: 'Action Menu' }).first();
    await menu.waitFor({ timeout: 90_000 });
    await menu.click();
    await page.getByRole('menuitem', { name: 'Sparse annotation' }).click();
    await page.waitForURL((u) => u.pathname.endsWith('/tomosort-sparse') && u.searchParams.get('StudyInstanceUIDs') === study, { timeout: 30_000 });
  } else await page.goto(`${viewerUrl}/tomosort-sparse?StudyInstanceUIDs=${study}`);
  await page.getByTestId('tomosort-panel').waitFor({ timeout: 90_000 });
  // The panel follows the active viewport: the series' slice count once the stack is loaded.
  await page.getByTestId('tomosort-series').getByText(new RegExp(`slice \\d+ of ${slices}`)).waitFor({ timeout: 90_000 });
  const seriesMs = Date.now() - t0;
  const worker = page.getByTestId('tomosort-worker').getByText(/^Training runs in a worker on /);
  await worker.waitFor({ timeout: 90_000 });
  if (compute !== 'auto') {
    await page.getByTestId('tomosort-compute-choice').selectOption(compute);
    await page.getByTestId('tomosort-worker').getByText(new RegExp(`^Training runs in a worker on ${compute}`)).waitFor({ timeout: 90_000 });
  }
  const workerMs = Date.now() - t0;
  const adapter = page.getByTestId('tomosort-compute').getByRole('status');
  await adapter.getByText(/^(WebGPU: |No WebGPU|WebGPU is not|WebGPU failed)/).waitFor({ timeout: 30_000 });
  const backend = (await worker.textContent())!.replace(/^Training runs in a worker on /, '').replace(/\.$/, '');
  return { backend, webgpu: (await adapter.textContent())!, seriesMs, workerMs };
}

/** The panel's series line ("… slice 12 of 108"). */
export const seriesLine = async (page: Page): Promise<string> => (await page.getByTestId('tomosort-series').textContent())!;

/**
 * Starts a sparse segmentation and labels `count` slices by the panel's HU threshold, scrolling
 * the real viewport `wheel` notches between them. Returns the series line at each.
 */
export async function annotateByThreshold(page: Page, count: number, wheel = 25): Promise<string[]> {
  await page.getByTestId('tomosort-new-seg').click();
  await page.getByTestId('tomosort-annotated').getByText('0 annotated slice(s)').waitFor();
  const seen: string[] = [];
  for (let n = 0; n < count; n++) {
    await scrollViewport(page, wheel);
    seen.push(await seriesLine(page));
    await page.getByTestId('tomosort-threshold').click();
    await page.getByTestId('tomosort-annotated').getByText(`${n + 1} annotated slice(s)`).waitFor({ timeout: 10_000 });
  }
  return seen;
}

/**
 * Draws one stroke with OHIF's Brush (the segmentation toolbox's button) across the middle of the
 * viewport on the slice on screen, then goes back to Window/Level so later clicks do not paint.
 */
export async function brushStroke(page: Page, viewportIndex = 0): Promise<void> {
  await page.locator('[data-cy="Brush-btn"]').click();
  const box = (await page.locator('.cornerstone-viewport-element').nth(viewportIndex).boundingBox())!;
  const x = box.x + box.width / 2 - 60;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let k = 0; k <= 12; k++) await page.mouse.move(x + k * 10, y + (k % 2) * 5, { steps: 2 });
  await page.mouse.up();
  await page.locator('[data-cy="WindowLevel-btn"]').click();
}

/**
 * Switches OHIF's layout to MPR (toolbar "Layout" → Advanced "MPR"): three volume viewports —
 * axial, sagittal, coronal — and waits until the panel names the reformatted plane on screen.
 */
export async function switchToMpr(page: Page): Promise<void> {
  await page.locator('[data-cy="Layout"]').click();
  await page.getByText('MPR', { exact: true }).first().click();
  await page.locator('.cornerstone-viewport-element').nth(2).waitFor({ timeout: 60_000 });
  await page.getByTestId('tomosort-series').getByText(/plane \d+ of \d+ \(reformat\)/).waitFor({ timeout: 60_000 });
  await settled(page);
}

/**
 * Mouse-wheel notches over a viewport (OHIF's stack scroll), then waits until the slice on
 * screen settles: the viewport goes on scrolling for a moment after the last notch, and a
 * threshold or mark must land on the slice the user ends up seeing.
 */
export async function scrollViewport(page: Page, notches: number, viewportIndex = 0): Promise<void> {
  const box = (await page.locator('.cornerstone-viewport-element').nth(viewportIndex).boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let w = 0; w < notches; w++) await page.mouse.wheel(0, 120);
  await settled(page);
}

/** Waits until the panel's series line (polled every 400 ms) reads the same three times in a row. */
async function settled(page: Page): Promise<void> {
  let last = '';
  let same = 0;
  for (let n = 0; n < 50 && same < 3; n++) {
    await page.waitForTimeout(400);
    const now = await seriesLine(page);
    same = now === last ? same + 1 : 0;
    last = now;
  }
}

/** What the panel reports after fine-tuning and predicting. */
export interface FineTuned {
  readonly steps: number;
  readonly trainSeconds: number;
  readonly stepsPerSecond: number;
  readonly predictedSlices: number;
  readonly predictSeconds: number;
  /** The panel's compute line, and its figures (the worker's `TrainingCompute`). */
  readonly computeLine: string;
  readonly compute: TrainingCompute;
}

/** Sets the step counts, clicks "Fine-tune and predict" and waits for the prediction. */
export async function fineTuneAndPredict(page: Page, frozenSteps: number, steps: number, timeoutMs = 600_000): Promise<FineTuned> {
  await page.getByTestId('tomosort-frozen-steps').fill(String(frozenSteps));
  await page.getByTestId('tomosort-steps').fill(String(steps));
  await page.getByTestId('tomosort-train').click();
  const done = page.getByTestId('tomosort-done').getByText(/^Trained \d+ steps in/);
  await done.waitFor({ timeout: timeoutMs });
  const text = (await done.textContent())!;
  const m = /^Trained (\d+) steps in ([\d.]+) s \(([\d.]+) steps\/s\); predicted (\d+) other slice\(s\) in ([\d.]+) s/.exec(text);
  if (!m) throw new Error(`unexpected panel text: ${text}`);
  const line = page.getByTestId('tomosort-step-cost');
  const compute = JSON.parse((await line.getAttribute('data-compute'))!) as TrainingCompute;
  return { steps: Number(m[1]), trainSeconds: Number(m[2]), stepsPerSecond: Number(m[3]), predictedSlices: Number(m[4]), predictSeconds: Number(m[5]), computeLine: (await line.textContent())!, compute };
}
