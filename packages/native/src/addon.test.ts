import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NATIVE_ADDON_PATH, NATIVE_SWITCH, loadAddon } from './addon';
import { NativeUnavailableError } from './errors';
import { startNodeBackend } from './init';

// Each vitest file runs in its own process, so the addon is not loaded yet here.
describe('an addon that is hidden, missing or cannot load: one line saying why', () => {
  const withEnv = <T>(env: Record<string, string | undefined>, f: () => T): T => {
    const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
      return f();
    } finally {
      for (const [k, v] of Object.entries(before)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  };
  it('TOMOSORT_NATIVE=off', () => {
    expect(() => withEnv({ [NATIVE_SWITCH]: 'off' }, loadAddon)).toThrow(new NativeUnavailableError('TOMOSORT_NATIVE=off hides the addon'));
  });
  it('not built (a path with no file)', () => {
    expect(() => withEnv({ [NATIVE_ADDON_PATH]: '/nonexistent/tomosort_native.node' }, loadAddon)).toThrow(
      /^native kernels unavailable: the addon is not built \(\/nonexistent\/tomosort_native\.node missing\): run \.\/scripts\/setup\.sh/,
    );
  });
  it('a file that is not a loadable addon: the loader’s own first line', () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'tomosort-native-')), 'tomosort_native.node');
    writeFileSync(bad, 'not an ELF file, but long enough for the loader to read its header '.repeat(4));
    let error: unknown;
    try {
      withEnv({ [NATIVE_ADDON_PATH]: bad }, loadAddon);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NativeUnavailableError);
    expect((error as Error).message).toMatch(new RegExp(`^native kernels unavailable: cannot load ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*invalid ELF header`));
    expect((error as Error).message).not.toContain('\n');
  });
  it('the default backend then falls back to wasm and says why; native asked for explicitly throws', async () => {
    const info = await withEnv({ [NATIVE_SWITCH]: 'off' }, () => startNodeBackend(undefined));
    expect(info.requested).toBe('wasm');
    expect(info.fallback).toBe('native kernels unavailable: TOMOSORT_NATIVE=off hides the addon; running on wasm (SIMD, 1 thread)');
    await expect(withEnv({ [NATIVE_SWITCH]: 'off' }, () => startNodeBackend('native'))).rejects.toThrow(NativeUnavailableError);
  });
});
