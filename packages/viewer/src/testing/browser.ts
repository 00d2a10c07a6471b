// Test-only (Node): the Debian Chromium driven by playwright-core (never a downloaded browser).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.TOMOSORT_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless Chromium with WebGPU on (SwiftShader without a GPU), no network chatter, a fresh
 * profile removed on close. `webgpu: false` leaves WebGPU off (no adapter), as in a browser
 * without it.
 */
export async function launchChromium(options: { readonly webgpu?: boolean } = {}): Promise<{ readonly context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'tomosort-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless=new', '--no-sandbox', ...(options.webgpu === false ? [] : ['--enable-unsafe-webgpu']), '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    viewport: { width: 1600, height: 1000 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
