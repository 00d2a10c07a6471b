import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend, initBestBackend } from './backends';
import { BackendInitError, NoBackendError, isBackendError } from './errors';
import { gradientsRegistered } from './gradients';
import { BACKEND_NAMES, isBackendName } from './names';
import { initBestNodeBackend, initNodeBackend } from './node';

// This file runs in its own process: no navigator.gpu has been installed here.

describe('initBackend (browser-safe)', () => {
  it('cpu: { requested: cpu, active: cpu, label: cpu } and tfjs-core’s gradients registered', async () => {
    const info = await initBackend('cpu');
    expect(info).toEqual({ requested: 'cpu', active: 'cpu', label: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
    expect(gradientsRegistered()).toBe(true);
  });

  it('webgpu without navigator.gpu: BackendInitError "webgpu: no GPU adapter (navigator.gpu missing): …"', async () => {
    const run = initBackend('webgpu');
    await expect(run).rejects.toBeInstanceOf(BackendInitError);
    await expect(run).rejects.toThrow(
      "webgpu: no GPU adapter (navigator.gpu missing): in Node call initNodeBackend('webgpu') from @tomosort/backend/node",
    );
  });

  it('webgl without @tensorflow/tfjs-backend-webgl, in Node: "webgl: WebGL needs a browser"', async () => {
    const e = await initBackend('webgl').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(BackendInitError);
    expect(isBackendError(e)).toBe(true);
    expect((e as BackendInitError).backend).toBe('webgl');
    expect((e as BackendInitError).reason).toBe('WebGL needs a browser');
  });
});

describe('initBestBackend', () => {
  it("['webgl', 'webgpu', 'cpu'] starts cpu and says why webgl and webgpu did not", async () => {
    const info = await initBestBackend(['webgl', 'webgpu', 'cpu']);
    expect(info.requested).toBe('cpu');
    expect(info.active).toBe('cpu');
    expect(info.failures.map((f) => f.backend)).toEqual(['webgl', 'webgpu']);
    expect(info.failures[1]!.error.message).toMatch(/^webgpu: no GPU adapter \(navigator\.gpu missing\)/);
  });

  it('[] → NoBackendError "no backend was requested (empty preference list)"', async () => {
    await expect(initBestBackend([])).rejects.toThrow(new NoBackendError([]).message);
    await expect(initBestBackend([])).rejects.toBeInstanceOf(NoBackendError);
  });
});

describe('initNodeBackend', () => {
  it('wasm: "wasm (SIMD, 1 thread)" with the .wasm directory of the installed package', async () => {
    const info = await initNodeBackend('wasm');
    expect(info.active).toBe('wasm');
    expect(info.label).toBe('wasm (SIMD, 1 thread)');
    expect(info.simd).toBe(true);
    expect(info.threads).toBe(1);
    expect(info.setup?.[0]).toMatch(/^wasm binaries from .*tfjs-backend-wasm[/\\]dist[/\\]$/);
    const y = tf.conv2d(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, tf.ones([2, 2, 1, 1]) as tf.Tensor4D, 1, 'valid');
    expect(Array.from(await y.data())).toEqual([4, 4, 4, 4]);
    y.dispose();
  });

  it('switching back: cpu after wasm makes cpu active again', async () => {
    expect((await initNodeBackend('cpu')).active).toBe('cpu');
  });

  it("['webgl'] → NoBackendError listing 'webgl: WebGL needs a browser (there is none in Node)'", async () => {
    const e = (await initBestNodeBackend(['webgl']).catch((err: unknown) => err)) as NoBackendError;
    expect(e).toBeInstanceOf(NoBackendError);
    expect(e.failures.map((f) => f.error.message)).toEqual(['webgl: WebGL needs a browser (there is none in Node)']);
    expect(e.message).toBe('no backend could be started: webgl: WebGL needs a browser (there is none in Node)');
  });
});

describe('backend names', () => {
  it.each([
    ['wasm', true],
    ['webgpu', true],
    ['WASM', false],
    ['tensorflow', false],
  ] as const)('isBackendName(%s) = %s', (s, ok) => {
    expect(isBackendName(s)).toBe(ok);
  });
  it('BACKEND_NAMES lists the four backends, wasm first', () => {
    expect(BACKEND_NAMES).toEqual(['wasm', 'webgpu', 'webgl', 'cpu']);
  });
});
