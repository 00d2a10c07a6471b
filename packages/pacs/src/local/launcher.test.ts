import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PacsClient } from '../client';
import { rejectionOf } from '../testing/fixtures';
import { LocalOrthancError } from './errors';
import type { LocalOrthanc } from './launcher';
import { startOrthanc } from './launcher';
import { isPidAlive, stopOrthancPid } from './pid';

const execFileAsync = promisify(execFile);

// Orthanc 1.10 needs ~2.5 s to stop, so independent tests run concurrently to keep the file short.
describe.concurrent('startOrthanc / stop / stopOrthancPid with the installed Orthanc 1.10', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  describe.sequential('an attached Orthanc on a temp dir', () => {
    let first: LocalOrthanc;

    it('starts on a free port with the DICOMweb plugin; its config has no DICOM server, no remote access, no auth', async () => {
      first = await startOrthanc();
      cleanup.push(() => first.stop());
      expect(first.url).toBe(`http://127.0.0.1:${first.port}`);
      expect(isPidAlive(first.pid)).toBe(true);
      const plugins = (await (await fetch(`${first.url}/plugins`)).json()) as string[];
      expect(plugins).toContain('dicom-web');
      expect((await fetch(`${first.url}/dicom-web/studies`)).status).toBe(200);
      const config = JSON.parse(readFileSync(first.configFile, 'utf8')) as Record<string, unknown>;
      expect(config).toMatchObject({
        HttpPort: first.port,
        DicomServerEnabled: false,
        RemoteAccessAllowed: false,
        AuthenticationEnabled: false,
        StorageDirectory: join(first.dir, 'db'),
        DicomWeb: { Enable: true, Root: '/dicom-web/' },
      });
      expect(readFileSync(first.logFile, 'utf8')).toMatch(/Orthanc has started/);
    });

    it('a second start on the same port fails with LocalOrthancError carrying the log tail ("already in use")', async () => {
      const e = await rejectionOf(() => startOrthanc({ port: first.port }));
      expect(e).toBeInstanceOf(LocalOrthancError);
      expect(e.message).toMatch(new RegExp(`^Orthanc exited during start-up \\(code \\d+\\) \\(port ${first.port}, log `));
      expect((e as LocalOrthancError).logTail).toMatch(/already in use/);
    });

    it('stop() twice is fine; afterwards the pid is dead and the temp dir is gone', async () => {
      const t0 = Date.now();
      await first.stop();
      await first.stop();
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(isPidAlive(first.pid)).toBe(false);
      expect(existsSync(first.dir)).toBe(false);
    });
  });

  it('detached: Orthanc keeps its data in the given dir and stays up until stopOrthancPid(pid) → "terminated"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tomosort-pacs-test-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const o = await startOrthanc({ dir, detached: true, log: join(dir, 'custom.log') });
    cleanup.push(async () => void (isPidAlive(o.pid) && (await stopOrthancPid(o.pid))));
    expect(o.dir).toBe(dir);
    expect(o.logFile).toBe(join(dir, 'custom.log'));
    expect((await new PacsClient({ baseUrl: o.url }).system()).version).toMatch(/^1\.10\./);
    expect(existsSync(join(dir, 'db'))).toBe(true);
    expect(await stopOrthancPid(o.pid, { timeoutMs: 10_000 })).toBe('terminated');
    expect(isPidAlive(o.pid)).toBe(false);
    expect(await stopOrthancPid(o.pid)).toBe('not-running');
    expect(existsSync(join(dir, 'db'))).toBe(true);
  });

  it('detached: Orthanc outlives the process that started it (as `tomosort pacs up` needs) and stopOrthancPid stops it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tomosort-pacs-test-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, 'up.mts');
    const launcher = fileURLToPath(new URL('./launcher.ts', import.meta.url));
    writeFileSync(
      script,
      `import { startOrthanc } from ${JSON.stringify(launcher)};\n` +
        `const o = await startOrthanc({ dir: ${JSON.stringify(join(dir, 'pacs'))}, detached: true });\n` +
        `console.log(JSON.stringify({ pid: o.pid, url: o.url }));\n`,
    );
    const tsx = fileURLToPath(new URL('../../../../node_modules/.bin/tsx', import.meta.url));
    const { stdout } = await execFileAsync(tsx, [script], { timeout: 30_000 });
    const { pid, url } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { pid: number; url: string };
    cleanup.push(async () => void (isPidAlive(pid) && (await stopOrthancPid(pid))));
    expect(isPidAlive(pid)).toBe(true);
    expect((await new PacsClient({ baseUrl: url }).system()).version).toMatch(/^1\.10\./);
    expect(await stopOrthancPid(pid)).toBe('terminated');
    expect(isPidAlive(pid)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow(); // reaped by init, not left a zombie
  });

  it('a missing binary fails with LocalOrthancError telling to install orthanc and orthanc-dicomweb', async () => {
    const e = await rejectionOf(() => startOrthanc({ binary: '/nonexistent/Orthanc' }));
    expect(e).toBeInstanceOf(LocalOrthancError);
    expect(e.message).toContain('/nonexistent/Orthanc does not exist');
    expect(e.message).toContain('apt-get install -y orthanc orthanc-dicomweb');
  });

  it('a missing plugin fails with LocalOrthancError telling to install orthanc-dicomweb', async () => {
    const e = await rejectionOf(() => startOrthanc({ dicomWebPlugin: '/nonexistent/libOrthancDicomWeb.so' }));
    expect(e).toBeInstanceOf(LocalOrthancError);
    expect(e.message).toContain('orthanc-dicomweb');
  });

  it('stopOrthancPid refuses a pid that runs another program and leaves it alive', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    cleanup.push(() => void sleeper.kill('SIGKILL'));
    const e = await rejectionOf(() => stopOrthancPid(sleeper.pid!));
    expect(e).toBeInstanceOf(LocalOrthancError);
    expect(e.message).toMatch(new RegExp(`^pid ${sleeper.pid} is not an Orthanc process`));
    expect(isPidAlive(sleeper.pid!)).toBe(true);
  });

  it('isPidAlive is false for pid 0, negative and unused pids, true for this process', () => {
    expect([isPidAlive(0), isPidAlive(-5), isPidAlive(2 ** 22 + 1), isPidAlive(process.pid)]).toEqual([false, false, false, true]);
  });
});
