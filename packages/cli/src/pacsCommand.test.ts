import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTomosort } from './testing';

const home = mkdtempSync(join(tmpdir(), 'tomosort-home-'));
const env = { TOMOSORT_HOME: home, TOMOSORT_PACS_URL: '' };

afterAll(async () => {
  await runTomosort(['pacs', 'down'], env);
  rmSync(home, { recursive: true, force: true });
});

describe('tomosort pacs up / status / ls / down', () => {
  it('starts a background Orthanc that later commands find without --pacs, then stops it', async () => {
    const up = await runTomosort(['pacs', 'up', '--json'], env);
    expect(up.code).toBe(0);
    const info = JSON.parse(up.stdout) as { url: string; pid: number; dir: string };
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.dir).toBe(join(home, 'orthanc'));
    expect(process.kill(info.pid, 0)).toBe(true);

    const again = await runTomosort(['pacs', 'up', '--json'], env);
    expect(JSON.parse(again.stdout)).toEqual(info);

    const status = await runTomosort(['pacs', 'status', '--json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, url: info.url, pid: info.pid });

    const ls = await runTomosort(['ls', '--json'], env);
    expect(ls.code).toBe(0);
    expect(JSON.parse(ls.stdout)).toEqual([]);

    const down = await runTomosort(['pacs', 'down', '--json'], env);
    expect(JSON.parse(down.stdout)).toEqual({ stopped: true, pid: info.pid });
    expect(() => process.kill(info.pid, 0)).toThrow();

    const after = await runTomosort(['ls'], env);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/no PACS given: pass --pacs URL, set TOMOSORT_PACS_URL, or start a local one/);
  });

  it('ls against a PACS that is down fails with a connection error naming the URL', async () => {
    const run = await runTomosort(['ls', '--pacs', 'http://127.0.0.1:9'], { ...env, TOMOSORT_PACS_URL: '' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/127\.0\.0\.1:9/);
    expect(run.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('refuses credentials in the PACS URL (flag or environment) without echoing them, naming the variables to use', async () => {
    for (const [args, env] of [
      [['ls', '--pacs', 'http://radiology:Pw-in-url-77@127.0.0.1:1'], {}],
      [['ls'], { TOMOSORT_PACS_URL: 'http://radiology:Pw-in-url-77@127.0.0.1:1' }],
    ] as const) {
      const run = await runTomosort([...args], { ...env });
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/must not hold credentials \(user:password@\): use http:\/\/127\.0\.0\.1:1 and set TOMOSORT_PACS_USER and TOMOSORT_PACS_PASSWORD \(or TOMOSORT_PACS_TOKEN\)/);
      expect(run.stderr + run.stdout).not.toContain('Pw-in-url-77');
    }
  });

  it('an unknown command and a bad option exit 2 with usage', async () => {
    const a = await runTomosort(['frobnicate']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/unknown command "frobnicate"/);
    const b = await runTomosort(['ls', '--bogus']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/usage: pnpm tomosort ls/);
  });
});
