import { describe, expect, it } from 'vitest';
import { cpuSettingsFrom } from '@tomosort/ohif-extension/cpuSettings';
import { appConfigScript } from './appConfig';

describe("the deployment's CPU settings", () => {
  it('reach the panel from the app-config.js the server writes, and nothing else does', () => {
    // Run the server's script as the page would, then read what the panel reads.
    const run = (script: string) => {
      const window = { location: { origin: 'http://127.0.0.1:3000' } } as { location: { origin: string }; config?: unknown };
      new Function('window', script)(window);
      return window.config;
    };
    expect(cpuSettingsFrom(run(appConfigScript({ threads: 3, parallel: 'replicas' })))).toEqual({ threads: 3, parallel: 'replicas' });
    expect(cpuSettingsFrom(run(appConfigScript()))).toEqual({});
    expect(cpuSettingsFrom(undefined)).toEqual({});
    expect(cpuSettingsFrom({ tomosort: { cpu: { threads: 0, parallel: 'gpu' } } })).toEqual({});
    expect(cpuSettingsFrom({ tomosort: { cpu: { threads: 2.5 } } })).toEqual({});
  });
});
