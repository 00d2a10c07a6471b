import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@tomosort/backend/node';
import { loadModelFromDir } from '@tomosort/models/node';
import { runTomosort } from './testing';

const scratch = mkdtempSync(join(tmpdir(), 'tomosort-pretrain-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const ARGS = ['--model', 'small', '--size', '32', '--batch', '16', '--slices', '8', '--steps', '12', '--checkpoint-every', '2', '--source', 'sample:phantom:4', '--seed', '3'];
const stepsLogged = (out: string) =>
  readFileSync(join(out, 'train-log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; step: number })
    .filter((e) => e.type === 'step')
    .map((e) => e.step);
const weightsHash = (out: string) => createHash('sha256').update(readFileSync(join(out, 'model', 'weights.bin'))).digest('hex');

describe('tomosort pretrain (small net, 32², 12 steps; native by default)', () => {
  it('writes a model with a manifest and prints a JSON summary naming the backend', async () => {
    const out = join(scratch, 'straight');
    const run = await runTomosort(['pretrain', '--out', out, ...ARGS, '--json']);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as { backend: string; steps: number; status: string; metrics: Record<string, number> };
    expect(summary).toMatchObject({ status: 'finished', steps: 12 });
    expect(summary.backend).toMatch(/^native \(oneDNN 2\.\d+\.\d+, \d+ threads?; other ops on wasm/);
    expect(run.stderr).not.toMatch(/native kernels unavailable/);
    expect(Number.isFinite(summary.metrics.heldOutSpearman)).toBe(true);
    // On the phantom, the localization calibration on 12 subjects of the next cohort is stored (see localize's README).
    expect(summary.metrics.localizeCalibrationVolumes).toBe(12);
    expect(summary.metrics.localizeCalibrationStacks).toBeGreaterThanOrEqual(20);
    expect(summary.metrics.localizeSubjectSdMm! + summary.metrics.localizeSliceSdMm!).toBeGreaterThan(0);
    expect(summary.metrics.localizeZ90).toBeGreaterThan(summary.metrics.localizeZ50!);
    const manifest = JSON.parse(readFileSync(join(out, 'model', 'model.json'), 'utf8')) as { modelTopology: { method: string; inputSize: number; plane: string; steps: number } };
    expect(manifest.modelTopology).toMatchObject({ method: 'sorting', inputSize: 32, plane: 'axial', steps: 12 });
    const log = readFileSync(join(out, 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(log.filter((e) => e.type === 'step')).toHaveLength(12);
  }, 120_000);

  it('--calibrate outside the phantom is refused with the reason; --calibrate 0 stores none', async () => {
    const refused = await runTomosort(['pretrain', '--out', join(scratch, 'cal'), ...ARGS, '--source', 'sample:cranium', '--calibrate', '12']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--calibrate needs --method sorting on sample:phantom, axial');
    const none = await runTomosort(['pretrain', '--out', join(scratch, 'nocal'), ...ARGS, '--steps', '2', '--calibrate', '0', '--json']);
    expect(none.code, none.stderr).toBe(0);
    expect(Object.keys((JSON.parse(none.stdout) as { metrics: Record<string, number> }).metrics).filter((k) => k.startsWith('localize'))).toEqual([]);
  }, 120_000);

  it('without the addon (TOMOSORT_NATIVE=off) it says why in one line and trains on wasm', async () => {
    const run = await runTomosort(['pretrain', '--out', join(scratch, 'wasm'), ...ARGS, '--steps', '2', '--json'], { TOMOSORT_NATIVE: 'off' });
    expect(run.code).toBe(0);
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('backend:'));
    expect(lines).toEqual(['backend: native kernels unavailable: TOMOSORT_NATIVE=off hides the addon; running on wasm (SIMD, 1 thread)']);
    expect((JSON.parse(run.stdout) as { backend: string }).backend).toBe('wasm (SIMD, 1 thread)');
  }, 120_000);

  it('asked for native explicitly without the addon, it fails with that reason instead of measuring wasm', async () => {
    const run = await runTomosort(['pretrain', '--out', join(scratch, 'no'), ...ARGS, '--backend', 'native'], { TOMOSORT_NATIVE: 'off' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/native kernels unavailable: TOMOSORT_NATIVE=off hides the addon/);
  }, 60_000);

  it('killed with SIGKILL after a checkpoint and resumed (native), it ends with the same weights as an uninterrupted run', async () => {
    const out = join(scratch, 'killed');
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
    const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'packages', 'cli', 'src', 'main.ts'), 'pretrain', '--out', out, ...ARGS, '--json'], { stdio: 'ignore' });
    const killedAt = await new Promise<number>((resolve) => {
      const timer = setInterval(() => {
        const log = join(out, 'train-log.jsonl');
        if (!existsSync(log)) return;
        const events = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number });
        const ckpt = events.find((e) => e.type === 'checkpoint');
        if (ckpt) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve(ckpt.step);
        }
      }, 20);
    });
    const exit = await new Promise<NodeJS.Signals | null>((r) => child.on('close', (_c, signal) => r(signal)));
    expect(exit).toBe('SIGKILL');
    expect(killedAt).toBeLessThan(12);
    expect(existsSync(join(out, 'model'))).toBe(false);

    const resumed = await runTomosort(['pretrain', '--out', out, ...ARGS, '--resume', '--json']);
    expect(resumed.code).toBe(0);
    expect(weightsHash(out)).toBe(weightsHash(join(scratch, 'straight')));
    // The log holds each step once: the steps redone after the checkpoint are not repeated.
    expect(stepsLogged(out)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));

    // Damage the newest checkpoint: --resume passes over it to checkpoint.old, says so, and ends the same.
    truncateSync(join(out, 'checkpoint', 'variables.bin'), 100);
    const again = await runTomosort(['pretrain', '--out', out, ...ARGS, '--resume', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resume: passed over .*checkpoint: variables\.bin \(100 bytes\) does not match its checksum: damaged or truncated; resuming from checkpoint\.old \(step \d+\)/);
    expect(weightsHash(out)).toBe(weightsHash(join(scratch, 'straight')));
    expect(stepsLogged(out)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(readdirSync(out).filter((f) => f.includes('.tmp'))).toEqual([]);

    // Both damaged: one line naming them, exit 1, no stack trace.
    truncateSync(join(out, 'checkpoint', 'variables.bin'), 100);
    truncateSync(join(out, 'checkpoint.old', 'trainer.json'), 10);
    const ruined = await runTomosort(['pretrain', '--out', out, ...ARGS, '--resume', '--json']);
    expect(ruined.code).toBe(1);
    expect(ruined.stderr).toMatch(/^tomosort: no usable checkpoint in .*: .*checkpoint: variables\.bin .*checkpoint\.old: trainer\.json is not valid JSON/m);
    expect(ruined.stderr).not.toMatch(/\n\s+at /);
  }, 300_000);

  it('--resume with nothing to resume says so and starts from step 0', async () => {
    const run = await runTomosort(['pretrain', '--out', join(scratch, 'fresh'), ...ARGS, '--steps', '2', '--resume', '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/resume: no checkpoint in .*fresh yet: starting from step 0/);
  }, 120_000);

  it('--method rotation3d trains a 3D unet-down with a rotation classifier; the model loads back; a grid larger than the slices is refused', async () => {
    const out = join(scratch, 'rotation3d');
    const run = await runTomosort(['pretrain', '--out', out, '--method', 'rotation3d', '--width', '0.5', '--size', '32', '--cube', '16', '--batch', '4', '--steps', '3', '--source', 'sample:phantom:4', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as { method: string; metrics: Record<string, number> };
    expect(summary.method).toBe('rotation3d');
    expect(summary.metrics.chanceAccuracy).toBe(0.1);
    expect(summary.metrics.heldOutAccuracy).toBeGreaterThanOrEqual(0);
    await initNodeBackend('cpu');
    const { model, manifest } = await loadModelFromDir(join(out, 'model'));
    expect(manifest).toMatchObject({ method: 'rotation3d', inputSize: 32, cropDepth: 16 });
    expect(model.spec).toMatchObject({ kind: 'classifier', encoder: { name: 'unet-downx0.5-3d', dims: 3 }, head: { patches: 1, classes: 10 } });
    model.dispose();
    const refused = await runTomosort(['pretrain', '--out', join(scratch, 'rpl3d'), '--method', 'rpl3d', '--size', '16', '--steps', '1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('a 3³ grid of 8³ patches (jitter 2) spans 30 voxels, more than the 16² slices (--size)');
  }, 120_000);

  it('--method cspr pre-trains a 3D encoder that strides in-plane only on the phantom’s labelled slices; other sources are refused', async () => {
    const out = join(scratch, 'cspr');
    const run = await runTomosort(['pretrain', '--out', out, '--method', 'cspr', '--model', 'small', '--size', '32', '--batch', '4', '--steps', '2', '--source', 'sample:phantom:4', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { metrics: Record<string, number> }).metrics.chanceAccuracy).toBeGreaterThan(0);
    const manifest = JSON.parse(readFileSync(join(out, 'model', 'model.json'), 'utf8')) as { modelTopology: Record<string, unknown> };
    expect(manifest.modelTopology).toMatchObject({ method: 'cspr', inputSize: 32, cropDepth: 3, architecture: { kind: 'classifier', encoder: { dims: 3, inPlaneStrides: true } } });
    const refused = await runTomosort(['pretrain', '--out', join(scratch, 'cspr2'), '--method', 'cspr', '--source', 'sample:cranium', '--steps', '1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--method cspr learns from labelled slices, the phantom cohort's (sample:phantom[:N]); sample:cranium has no labels");
  }, 120_000);

  it('rejects a batch that is not a multiple of --slices with exit code 2', async () => {
    const run = await runTomosort(['pretrain', '--out', join(scratch, 'x'), '--batch', '10', '--slices', '8']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--batch 10 must be a multiple of --slices 8/);
  });
});
