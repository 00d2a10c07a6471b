// Test tooling (Node): @tomosort/backend's WebGPU kernel table, run in a Chromium page.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { KernelCheckPageResult } from '@tomosort/backend/testing';
import { launchChromium } from './browser';

const require = createRequire(import.meta.url);

/** The page's origin; never contacted: every request to it is answered from here. */
const ORIGIN = 'http://127.0.0.1:9';

/**
 * Bundles the kernel-check page (tfjs-core, cpu, webgpu and our kernels), opens it in headless
 * Chromium with WebGPU on (SwiftShader without a GPU) and runs the whole table: each kernel on
 * Chromium's cpu backend and on its Dawn, compared output by output.
 */
export async function checkKernelsInChromium(): Promise<KernelCheckPageResult> {
  const { build } = await import('esbuild');
  const scratch = mkdtempSync(join(tmpdir(), 'tomosort-kernel-page-'));
  const browser = await launchChromium({ webgpu: true });
  try {
    const entry = join(dirname(require.resolve('@tomosort/backend/testing')), 'kernelCheckPage.ts');
    await build({ entryPoints: { page: entry }, outdir: scratch, bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'silent' });
    const script = readFileSync(join(scratch, 'page.js'));
    const page = await browser.context.newPage();
    // Served from 127.0.0.1, a secure context: navigator.gpu exists only there.
    await page.route(`${ORIGIN}/**`, (route) => {
      const path = new URL(route.request().url()).pathname;
      if (path === '/page.js') return route.fulfill({ body: script, contentType: 'text/javascript' });
      return route.fulfill({ body: '<!doctype html><title>kernel checks</title><script type="module" src="/page.js"></script>', contentType: 'text/html' });
    });
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction('typeof globalThis.tomosortCheckKernels === "function"');
    return (await page.evaluate('globalThis.tomosortCheckKernels()')) as KernelCheckPageResult;
  } finally {
    await browser.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
