import { existsSync } from 'node:fs';
import { CliError, UsageError } from '../errors';
import { userPath } from '../env';
import { writeFileAtomic } from '../files';
import { JSON_OPTION, intListOption, intOption, oneOfOption, parse } from '../parse';
import { PARALLEL_MODES, type BenchmarkJob } from '@tomosort/ohif-extension/worker/protocol';
import { median } from '../stats';
import { formatTable } from '../table';

export const BENCH_WORKER_USAGE = `usage: pnpm tomosort bench worker [--threads LIST] [--parallel LIST] [--compute wasm|webgpu] [--size S] [--batch B] [--depth D] [--steps N] [--rounds N] [--seed N] [--profile] [--out FILE] [--json]

  worker  the viewer's training worker alone, in headless Chromium (Debian's /usr/bin/chromium or
          $TOMOSORT_CHROMIUM), served cross-origin isolated as the viewer is: fine-tuning steps of
          the scratch U-Net (small encoder) on a synthetic phantom, once per wasm thread count.
          Reports the median step time (the first step, which compiles, left out), the speed-up
          over the first thread count, and how far each run's losses stray from the first run's;
          on webgpu also dispatches and GPU readbacks a step and the peak GPU memory. With a count
          above 1, also this machine's ceilings: that many plain-JavaScript workers at once against
          one, on arithmetic, on copies within a cache and on copies of DRAM-sized arrays.
  --threads LIST  wasm thread counts, comma-separated (default 1,2; each in a fresh worker)
  --parallel LIST how a count above 1 is used, each in its own run: threads (tfjs-wasm's pool:
                  XNNPACK's convolutions), replicas (data-parallel replicas, one wasm thread
                  each, every op split); default threads,replicas. Also independent: that many
                  1-thread workers at once, each training its own model on its share of the
                  batch with no sums between them — the bound replicas would reach without
                  waiting for each other (not a way to train: Δ loss is not compared)
  --compute C     wasm (default) or webgpu (one run; --threads is ignored)
  --size S        input size in pixels (default 64)
  --batch B       slices per step (default 4; with --depth, crops per step)
  --depth D       a 3D U-Net (unet-down at half width) on crops of D slices instead (default: 2D)
  --steps N       measured steps (default 8; one more runs first as warm-up)
  --rounds N      run the whole list N times, interleaved (default 1): on a shared machine one
                  run's speed drifts by tens of percent, so each round's speed-ups are paired
                  (against the first row of the same round) and the median and range over rounds
                  reported
  --seed N        weights and data seed (default 0)
  --profile       also profile one more step per run kernel by kernel (the 8 slowest kernels;
                  not on replicas: tf.profile sees one thread)
  --out FILE      also write the JSON there (atomically)
  --json          print the JSON instead of the table`;

/** The worker's own ways to use threads, and the benchmark's bound for replicas (independent workers). */
const BENCH_MODES = [...PARALLEL_MODES, 'independent'] as const;
type BenchMode = (typeof BENCH_MODES)[number];

type Host = import('@tomosort/viewer/testing').WorkerHost;
type Benchmarked = Awaited<ReturnType<Host['benchmark']>>;

/**
 * `count` 1-thread workers at once (a page each), each fine-tuning its own copy on ⌈batch / count⌉
 * slices with its own seed and no sums between them. Step s takes as long as the slowest worker's
 * step s: the whole batch's step if replicas never waited for each other.
 */
async function independentWorkers(host: Host, count: number, job: BenchmarkJob): Promise<Benchmarked> {
  const share = Math.ceil(job.batch / count);
  const rs = await Promise.all(Array.from({ length: count }, (_, i) => host.benchmark({ compute: 'wasm', threads: 1, job: { ...job, batch: share, seed: job.seed + i, profile: false } })));
  // Not profiled: a kernel table of one worker's share would read as the whole batch's.
  const { profile: _unprofiled, ...first } = rs[0]!;
  const steps = Math.min(...rs.map((r) => r.msPerStep.length));
  return { ...first, ranOn: `${first.ranOn} × ${count} independent workers (${share} slice${share === 1 ? '' : 's'} each, no sums)`, losses: [], msPerStep: Array.from({ length: steps }, (_, s) => Math.max(...rs.map((r) => r.msPerStep[s]!))) };
}

/** The ceilings' report: per probe the median speed-up over rounds (and range), the median times, and GB/s for the copies. */
function summariseCeilings(c: Awaited<ReturnType<Host['ceilings']>>) {
  const round2 = (x: number) => +x.toFixed(2);
  return {
    workers: c.workers,
    rounds: c.probes[0]!.rounds.length,
    probes: c.probes.map((p) => {
      const speedups = p.rounds.map((r) => (c.workers * r.oneMs) / r.allMs);
      const oneMs = median(p.rounds.map((r) => r.oneMs));
      const allMs = median(p.rounds.map((r) => r.allMs));
      return {
        probe: p.probe,
        what: p.what,
        oneMs: +oneMs.toFixed(1),
        allMs: +allMs.toFixed(1),
        speedup: round2(median(speedups)),
        speedupRange: [round2(Math.min(...speedups)), round2(Math.max(...speedups))] as const,
        ...(p.bytes === undefined ? {} : { gbPerS: { one: +(p.bytes / oneMs / 1e6).toFixed(1), all: +((c.workers * p.bytes) / allMs / 1e6).toFixed(1) } }),
        rounds: p.rounds.map((r) => ({ oneMs: +r.oneMs.toFixed(1), allMs: +r.allMs.toFixed(1) })),
      };
    }),
  };
}

/** The input a step sees: 128², or 8 × 128² for 3D crops. */
const shape = (job: { readonly size: number; readonly depth?: number }): string => (job.depth === undefined ? `${job.size}²` : `${job.depth} × ${job.size}²`);

/** Kernels shown per run with --profile (the JSON holds them all). */
const PROFILE_ROWS = 8;

export async function benchWorker(args: readonly string[]): Promise<number> {
  const { values } = parse(
    args,
    { threads: { type: 'string' }, parallel: { type: 'string' }, compute: { type: 'string' }, size: { type: 'string' }, batch: { type: 'string' }, depth: { type: 'string' }, steps: { type: 'string' }, rounds: { type: 'string' }, seed: { type: 'string' }, profile: { type: 'boolean', default: false }, out: { type: 'string' }, ...JSON_OPTION },
    BENCH_WORKER_USAGE,
    false,
  );
  const compute = oneOfOption('compute', values.compute, ['wasm', 'webgpu'] as const, 'wasm');
  const counts = compute === 'webgpu' ? [undefined] : intListOption('threads', values.threads ?? '1,2');
  if (counts.some((t) => t === 0)) throw new UsageError(`--threads: each count is at least 1, got "${values.threads}"`);
  const modes = (values.parallel ?? 'threads,replicas').split(',').map((m) => oneOfOption('parallel', m.trim(), BENCH_MODES, 'threads'));
  if (compute === 'webgpu' && modes.includes('independent')) throw new UsageError('--parallel independent runs wasm workers: leave out --compute webgpu');
  // One thread is one run; more threads, one run per way of using them.
  type Run = { threads: number | undefined; parallel: BenchMode | undefined };
  const plan = counts.flatMap((t): Run[] => (t === undefined || t === 1 ? [{ threads: t, parallel: undefined }] : modes.map((parallel) => ({ threads: t, parallel }))));
  const job = { size: intOption('size', values.size, 64, 8), batch: intOption('batch', values.batch, 4, 1), steps: intOption('steps', values.steps, 8, 1) + 1, seed: intOption('seed', values.seed, 0, 0), profile: values.profile === true, ...(values.depth === undefined ? {} : { depth: intOption('depth', values.depth, 8, 2) }) };
  const rounds = intOption('rounds', values.rounds, 1, 1);
  // Test tooling (playwright-core, esbuild) loads only for this benchmark.
  const { CHROMIUM, startWorkerHost } = await import('@tomosort/viewer/testing');
  if (!existsSync(CHROMIUM)) throw new CliError(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set TOMOSORT_CHROMIUM)`);
  const log = (m: string) => values.json || process.stderr.write(`${m}\n`);
  const host = await startWorkerHost({ webgpu: compute === 'webgpu' });
  try {
    // byRound[r][k]: round r's run of plan[k].
    const byRound: Awaited<ReturnType<typeof host.benchmark>>[][] = [];
    for (let round = 0; round < rounds; round++) {
      const runs = [];
      for (const { threads: t, parallel } of plan) {
        log(`${rounds > 1 ? `round ${round + 1}/${rounds}: ` : ''}${compute}${t === undefined ? '' : `, ${t} thread(s)`}${parallel ? ` as ${parallel}` : ''}: ${job.steps} steps at ${shape(job)}, batch ${job.batch} …`);
        runs.push(parallel === 'independent' ? await independentWorkers(host, t!, job) : await host.benchmark({ compute, ...(t === undefined ? {} : { threads: t }), ...(parallel ? { parallel } : {}), job }));
      }
      byRound.push(runs);
    }
    // What the machine itself allows: the same count of plain-JavaScript workers at once.
    const most = Math.max(...counts.map((t) => t ?? 1));
    if (most > 1) log(`this machine's ceilings: ${most} workers at once vs one …`);
    const ceilings = most > 1 ? summariseCeilings(await host.ceilings(most, Math.max(3, rounds))) : undefined;
    const runs = byRound[0]!;
    const first = runs[0]!;
    const medianOf = (ms: readonly number[]) => median(ms.slice(1));
    // Per plan entry: each round's median step, and its speed-up over the same round's first row.
    const perRound = plan.map((_, k) => byRound.map((rs) => ({ ms: medianOf(rs[k]!.msPerStep), speedup: medianOf(rs[0]!.msPerStep) / medianOf(rs[k]!.msPerStep) })));
    const result = {
      browser: /Chrome\/[\d.]+/.exec(await host.userAgent())?.[0] ?? 'Chromium',
      hardwareConcurrency: first.hardwareConcurrency,
      crossOriginIsolated: first.crossOriginIsolated,
      job: { ...job, measuredSteps: job.steps - 1, rounds, model: job.depth === undefined ? 'small encoder + U-Net, 2 classes' : `3D U-Net (unet-down, half width), 2 classes, crops of ${job.depth} slices`, data: 'phantom 0, 5 annotated slices' },
      runs: runs.map((r, k) => ({
        requestedThreads: plan[k]!.threads ?? null,
        parallel: plan[k]!.parallel ?? null,
        backend: r.ranOn,
        threads: r.threads ?? null,
        replicas: r.replicaWaitMsPerStep?.length ?? null,
        ...(r.replicaWaitMsPerStep ? { replicaWaitMsPerStep: r.replicaWaitMsPerStep } : {}),
        medianMs: +median(perRound[k]!.map((x) => x.ms)).toFixed(1),
        speedup: +median(perRound[k]!.map((x) => x.speedup)).toFixed(2),
        ...(rounds > 1 && k > 0
          ? {
              speedupRange: [+Math.min(...perRound[k]!.map((x) => x.speedup)).toFixed(2), +Math.max(...perRound[k]!.map((x) => x.speedup)).toFixed(2)],
              rounds: perRound[k]!.map((x) => ({ medianMs: +x.ms.toFixed(1), speedup: +x.speedup.toFixed(2) })),
            }
          : {}),
        // Independent workers train separate models on parts of the batch: their losses are not the run's.
        maxLossDifference: plan[k]!.parallel === 'independent' ? null : +Math.max(...r.losses.map((l, s) => Math.abs(l - first.losses[s]!))).toExponential(2),
        msPerStep: r.msPerStep.map((x) => +x.toFixed(1)),
        losses: r.losses.map((x) => +x.toPrecision(6)),
        ...(r.profile ? { profile: r.profile } : {}),
        ...(r.webgpu ? { webgpu: r.webgpu } : {}),
      })),
      ...(ceilings ? { ceilings } : {}),
    };
    if (values.out) writeFileAtomic(userPath(values.out), `${JSON.stringify(result, null, 2)}\n`);
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else
      process.stdout.write(
        `${formatTable(
          ['backend', 'median step', 'speed-up', 'max |Δ loss|', 'detail'],
          result.runs.map((r) => [
            r.backend,
            `${r.medianMs} ms`,
            `${r.speedup}×${r.speedupRange ? ` (${r.speedupRange[0]}–${r.speedupRange[1]})` : ''}`,
            r.maxLossDifference === null ? '—' : String(r.maxLossDifference),
            `vs the first row${rounds > 1 ? ` of each round, median of ${rounds} rounds` : ''}; ${result.job.measuredSteps} steps, ${shape(job)}, batch ${job.batch}`,
          ]),
        )}\n${result.browser}, hardware concurrency ${result.hardwareConcurrency}, cross-origin isolated: ${result.crossOriginIsolated}\n${result.runs
          .flatMap((r) => (r.replicaWaitMsPerStep ? [`${r.backend}: each replica waited ${r.replicaWaitMsPerStep.map((ms) => `${ms}`).join(' / ')} ms a step for the others at sums\n`] : []))
          .join('')}${result.runs
          .flatMap((r) => (r.webgpu ? [`${r.backend}: ${r.webgpu.dispatchesPerStep} dispatches and ${r.webgpu.readbacksPerStep} GPU readback(s) a step (loss read every ${r.webgpu.readEvery} steps), peak GPU ${(r.webgpu.peakGpuBytes / 1e6).toFixed(0)} MB; our kernels: ${r.webgpu.kernels.join(', ') || 'none'}\n`] : []))
          .join('')}${
          result.ceilings
            ? `\nthis machine's ceilings: ${result.ceilings.workers} Web Workers at once vs one, plain JavaScript (no tfjs), median of ${result.ceilings.rounds} rounds\n${formatTable(
                ['probe', 'speed-up', 'one worker', 'all at once'],
                result.ceilings.probes.map((p) => [p.what, `${p.speedup}× (${p.speedupRange[0]}–${p.speedupRange[1]})`, `${p.oneMs} ms${p.gbPerS ? `, ${p.gbPerS.one} GB/s` : ''}`, `${p.allMs} ms${p.gbPerS ? `, ${p.gbPerS.all} GB/s` : ''}`]),
              )}\n`
            : ''
        }`,
      );
    const profiled = result.runs.filter((r) => r.profile);
    if (!values.json && profiled.length > 0) {
      const slowest = (r: (typeof result.runs)[number]) => r.profile?.kernels.slice(0, PROFILE_ROWS) ?? [];
      const names = [...new Set(profiled.flatMap((r) => slowest(r).map((k) => k.name)))];
      const cell = (r: (typeof profiled)[number], name: string) => {
        const k = r.profile?.kernels.find((x) => x.name === name);
        return k ? `${k.ms} ms (${k.calls})` : '—';
      };
      process.stdout.write(
        `\nprofiled step, kernel by kernel: total ms (calls)\n${formatTable(
          ['kernel', ...profiled.map((r) => r.backend)],
          [...names.map((n) => [n, ...profiled.map((r) => cell(r, n))]), ['step', ...profiled.map((r) => `${r.profile?.stepMs ?? '—'} ms`)]],
        )}\n`,
      );
    }
    return 0;
  } finally {
    await host.close();
  }
}
