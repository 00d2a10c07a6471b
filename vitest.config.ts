import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'extensions/*/src/**/*.test.ts'],
    pool: 'forks',
    // Two files at a time (vitest's default is cores − 1: one here). Most files spend their time
    // waiting on Orthanc, Redis, Chromium or a CLI child process, so two overlap well.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Test files run in parallel forks on a 2-core machine, beside Orthanc and Chromium: native
    // kernels get one thread each (tests of thread counts set theirs), and idle OpenMP threads
    // sleep instead of spinning, so no fork starves the servers the others talk to.
    // TOMOSORT_HOME: tests keep the CLI's state (pending-import journal, local PACS record) out of
    // the user's ~/.tomosort; tests of that state set their own.
    env: { TOMOSORT_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE', TOMOSORT_HOME: mkdtempSync(join(tmpdir(), 'tomosort-test-home-')) },
  },
});
