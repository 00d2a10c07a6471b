// Runs the whole vitest suite, then prints one plain summary line ("tests: N passed, N failed")
// that CI systems can read regardless of vitest's own formatting. Exit code is vitest's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'tomosort-vitest-'));
const report = join(dir, 'report.json');
const run = spawnSync(
  'pnpm',
  ['exec', 'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
let summary = 'tests: no report written';
let failed = run.status !== 0;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  summary = `tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
  if (r.numTotalTests === 0) failed = true;
} catch {
  failed = true;
}
rmSync(dir, { recursive: true, force: true });
console.log(summary);
process.exitCode = failed ? 1 : 0;
