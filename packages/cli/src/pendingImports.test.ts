// An import interrupted by the PACS going away, against a real Orthanc: the fault proxy stands in
// for "Orthanc down" (it cuts every connection after N uploads) and, later, for "Orthanc back".
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readSeries } from '@tomosort/dicom';
import { PacsClient, seriesUid } from '@tomosort/pacs';
import { startOrthanc } from '@tomosort/pacs/local';
import type { LocalOrthanc } from '@tomosort/pacs/local';
import { brainSeries } from '../../dicom/src/testing/fixtures';
import { startFaultProxy } from '../../pacs/src/testing/servers';
import type { TestServer } from '../../pacs/src/testing/servers';
import { storedInstances } from './pendingImports';
import { runTomosort } from './testing';

/** The series `sample:cranium` always imports as (fixed UIDs: see importSources). */
let cranium: { studyInstanceUID: string; seriesInstanceUID: string };
let orthanc: LocalOrthanc;
let direct: PacsClient;
let proxy: TestServer;
let home: string;
let scratch: string;
/** Uploads (POST /instances) the proxy forwards before it cuts every connection; Infinity: never. */
let passUploads = Number.POSITIVE_INFINITY;
let uploadsSeen = 0;
let down = false;

const env = () => ({ TOMOSORT_HOME: home, TOMOSORT_PACS_URL: '' });
const journal = (): string[] => {
  try {
    return readdirSync(join(home, 'pending-imports')).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
};
const held = (s: { studyInstanceUID: string; seriesInstanceUID: string }) => storedInstances(direct, s);

/** Imports sample:cranium through the proxy, which goes down after 40 of its 108 uploads. */
async function importCut(): Promise<Awaited<ReturnType<typeof runTomosort>>> {
  passUploads = 40;
  return runTomosort(['import', 'sample:cranium', '--pacs', proxy.url, '--json'], env());
}

function expectWhatIsLeftSaid(run: Awaited<ReturnType<typeof runTomosort>>): void {
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  const lines = run.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^tomosort: PACS \(Orthanc\) is unreachable at /);
  expect(lines[0]).toContain(
    `; series ${cranium.seriesInstanceUID}: 40 of 108 instances may be stored in ${proxy.url}; run \`tomosort pacs status\` (or the next import) to finish the rollback`,
  );
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(async () => {
  orthanc = await startOrthanc();
  direct = new PacsClient({ baseUrl: orthanc.url });
  proxy = await startFaultProxy(orthanc.url, (_n, req) => {
    if (req.method === 'POST' && req.url === '/instances' && ++uploadsSeen > passUploads) down = true;
    return down ? 'drop' : 'pass';
  });
  scratch = mkdtempSync(join(tmpdir(), 'tomosort-pending-'));
  // The UIDs of sample:cranium, from an import that is not cut.
  const probe = await runTomosort(['import', 'sample:cranium', '--pacs', orthanc.url, '--json'], { TOMOSORT_HOME: join(scratch, 'probe-home') });
  expect(probe.code, probe.stderr).toBe(0);
  cranium = (JSON.parse(probe.stdout) as (typeof cranium)[])[0]!;
  await direct.deleteSeries(seriesUid(cranium.seriesInstanceUID));
}, 120_000);

beforeEach(() => {
  home = mkdtempSync(join(scratch, 'home-'));
  passUploads = Number.POSITIVE_INFINITY;
  uploadsSeen = 0;
  down = false;
});

afterAll(async () => {
  await proxy?.close();
  await orthanc?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('an import cut off after 40 of 108 instances, the PACS down for the rollback too', () => {
  it('says what is left, keeps a journal entry, ls marks the series incomplete, and pacs status finishes the rollback', async () => {
    expectWhatIsLeftSaid(await importCut());
    expect(await held(cranium)).toBe(40);
    const files = journal();
    expect(files).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(home, 'pending-imports', files[0]!), 'utf8'))).toMatchObject({
      pacsUrl: proxy.url,
      studyInstanceUID: cranium.studyInstanceUID,
      seriesInstanceUID: cranium.seriesInstanceUID,
      expectedInstances: 108,
      source: 'sample:cranium',
      seriesExisted: false,
    });

    down = false; // Orthanc is back
    passUploads = Number.POSITIVE_INFINITY;
    const ls = await runTomosort(['ls', '--pacs', proxy.url, '--json'], env());
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).toEqual([
      expect.objectContaining({ seriesInstanceUID: cranium.seriesInstanceUID, instances: 40, incomplete: true, expectedInstances: 108 }),
    ]);
    const table = await runTomosort(['ls', '--pacs', proxy.url], env());
    expect(table.stdout).toMatch(new RegExp(`${cranium.seriesInstanceUID.replaceAll('.', '\\.')} +CT +40 of 108 INCOMPLETE`));
    expect(table.stdout).toContain('INCOMPLETE: an import of the series did not finish; run `tomosort pacs status`');

    const status = await runTomosort(['pacs', 'status', '--json'], env());
    expect(JSON.parse(status.stdout)).toMatchObject({
      running: false,
      pendingImports: [{ outcome: 'rolled-back', pacsUrl: proxy.url, seriesInstanceUID: cranium.seriesInstanceUID, expectedInstances: 108, removed: 40 }],
    });
    expect(await held(cranium)).toBe(0);
    expect(journal()).toEqual([]);
    const after = await runTomosort(['ls', '--pacs', proxy.url, '--json'], env());
    expect(JSON.parse(after.stdout)).toEqual([]);
  });

  it('while the PACS stays down, pacs status keeps the entry and says so; the next import, once it is back, rolls the series back before its own upload', async () => {
    expectWhatIsLeftSaid(await importCut());
    const stillDown = await runTomosort(['pacs', 'status'], env());
    expect(stillDown.stdout).toContain(`import: series ${cranium.seriesInstanceUID} (import of sample:cranium started `);
    expect(stillDown.stdout).toContain(`may be partly stored in ${proxy.url}, which does not answer`);
    expect(journal()).toHaveLength(1);
    expect(await held(cranium)).toBe(40);

    down = false;
    passUploads = Number.POSITIVE_INFINITY;
    const dir = mkdtempSync(join(scratch, 'brain-'));
    const brain = brainSeries();
    brain.forEach((f, n) => writeFileSync(join(dir, `${String(n).padStart(4, '0')}.dcm`), f.bytes));
    const next = await runTomosort(['import', dir, '--pacs', proxy.url, '--json'], env());
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(
      new RegExp(`^earlier import: series ${cranium.seriesInstanceUID.replaceAll('.', '\\.')} \\(import of sample:cranium started \\S+\\) was left partial: rolled back, removed 40 of 108 instances from ${proxy.url}\n$`),
    );
    expect(await held(cranium)).toBe(0);
    const reference = readSeries(brain);
    expect(await held(reference)).toBe(brain.length);
    expect(journal()).toEqual([]);
    await direct.deleteSeries(seriesUid(reference.seriesInstanceUID));
  });

  it('a complete upload leaves no journal entry and ls marks nothing', async () => {
    const run = await runTomosort(['import', 'sample:cranium', '--pacs', proxy.url, '--json'], env());
    expect(run.code, run.stderr).toBe(0);
    expect(journal()).toEqual([]);
    const ls = await runTomosort(['ls', '--pacs', proxy.url, '--json'], env());
    expect(JSON.parse(ls.stdout)).toEqual([expect.objectContaining({ seriesInstanceUID: cranium.seriesInstanceUID, instances: 108, incomplete: false })]);
    await direct.deleteSeries(seriesUid(cranium.seriesInstanceUID));
  });
});

describe('Orthanc killed (SIGKILL) during an import, then started again on the same port and storage', () => {
  it('the import says what may be left, ls marks the series incomplete, and pacs status rolls it back', async () => {
    const dir = join(scratch, 'killed-orthanc');
    const first = await startOrthanc({ dir });
    let second: LocalOrthanc | undefined;
    try {
      const url = first.url;
      let settled = false;
      const importing = runTomosort(['import', 'sample:cranium', '--pacs', url, '--concurrency', '1', '--json'], env()).finally(() => (settled = true));
      // Kill Orthanc once part of the series is stored.
      let count = 0;
      while (count < 20 && !settled) {
        await new Promise((r) => setTimeout(r, 25));
        const stats = await fetch(`${url}/statistics`).then((r) => r.json() as Promise<{ CountInstances: number }>, () => ({ CountInstances: 0 }));
        count = stats.CountInstances;
      }
      process.kill(first.pid, 'SIGKILL');
      const run = await importing;
      expect(count, 'the import ended before Orthanc was killed').toBeGreaterThanOrEqual(20);
      expect(run.code).toBe(1);
      const lines = run.stderr.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      const said = new RegExp(`; series ${cranium.seriesInstanceUID.replaceAll('.', '\\.')}: (\\d+) of 108 instances may be stored in ${url}; run \`tomosort pacs status\` \\(or the next import\\) to finish the rollback$`).exec(lines[0]!);
      expect(said, lines[0]).not.toBeNull();
      expect(Number(said![1])).toBeGreaterThanOrEqual(20);
      expect(Number(said![1])).toBeLessThan(108);
      expect(journal()).toHaveLength(1);

      second = await startOrthanc({ dir, port: first.port });
      const back = new PacsClient({ baseUrl: second.url });
      const stored = await storedInstances(back, cranium);
      expect(stored).toBeGreaterThanOrEqual(20);
      expect(stored).toBeLessThan(108);
      const ls = await runTomosort(['ls', '--pacs', url, '--json'], env());
      expect(JSON.parse(ls.stdout)).toEqual([expect.objectContaining({ seriesInstanceUID: cranium.seriesInstanceUID, instances: stored, incomplete: true, expectedInstances: 108 })]);

      const status = await runTomosort(['pacs', 'status', '--json'], env());
      expect(JSON.parse(status.stdout)).toMatchObject({ pendingImports: [{ outcome: 'rolled-back', pacsUrl: url, removed: stored }] });
      expect(await storedInstances(back, cranium)).toBe(0);
      expect(journal()).toEqual([]);
    } finally {
      await second?.stop();
      await first.stop();
    }
  });
});
