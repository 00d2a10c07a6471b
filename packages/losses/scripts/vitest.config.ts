// Runs the hand-run measurement scripts in this folder (not part of the test suite) through vitest,
// which — unlike tsx/Node ESM — can load tfjs-core's unbundled gradient registrations:
//   node_modules/.bin/vitest run --config packages/losses/scripts/vitest.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: import.meta.dirname,
  cacheDir: '../node_modules/.vite',
  test: { include: ['*.run.ts'], testTimeout: 600_000, pool: 'forks' },
});
