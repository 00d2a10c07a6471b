import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLES, DECODER_WASM, buildExtensionBundles } from './bundle';

const out = mkdtempSync(join(tmpdir(), 'tomosort-bundle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the browser bundles (extension, mode, worker)', () => {
  it('hold nothing of the native kernels: no addon, no oneDNN, no switch that loads them', async () => {
    await buildExtensionBundles(out);
    const files = Object.values(BUNDLES);
    expect(readdirSync(out)).toEqual(expect.arrayContaining([...files, 'wasm', 'itk', ...Object.values(DECODER_WASM)]));
    // ITK's contour interpolation pipeline, served from here: its ES module and its zstd-compressed wasm.
    expect(readdirSync(join(out, 'itk')).sort()).toEqual(['morphological-contour-interpolation.js', 'morphological-contour-interpolation.wasm.zst']);
    expect(readFileSync(join(out, 'itk', 'morphological-contour-interpolation.wasm.zst')).subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    for (const f of files) {
      const text = readFileSync(join(out, f), 'utf8');
      for (const needle of ['tomosort_native', 'TOMOSORT_NATIVE', 'oneDNN', 'startNodeBackend', 'initNativeBackend']) expect(text.includes(needle), `${f} contains ${needle}`).toBe(false);
    }
    // The worker trains with tfjs-wasm / WebGPU: their kernels are in it.
    expect(readFileSync(join(out, BUNDLES.worker), 'utf8')).toContain('tfjs-backend-wasm');
    // The worker reads compressed series: the decoders' glue is in it and asks for the wasm files copied beside it.
    for (const wasm of Object.values(DECODER_WASM)) {
      expect(readFileSync(join(out, BUNDLES.worker), 'utf8'), `worker bundle refers to ${wasm}`).toContain(wasm);
      expect(readFileSync(join(out, wasm)).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
    }
  }, 120_000);
});
