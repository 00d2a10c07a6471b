import { spawn } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, encoderSpec, forwardCost, projectionModelSpec, scoreModelSpec } from '@tomosort/models';
import type { ConvGradients, EncoderPreset } from '@tomosort/models';
import { loadPrepared, phantomSources } from '@tomosort/pretext';
import { asTrainable, train } from '@tomosort/train';
import type { MethodConfig } from '@tomosort/train';
import { startBackend } from '../backendOption';
import { userPath } from '../env';
import { CliError, UsageError } from '../errors';
import { writeFileAtomic } from '../files';
import { intOption, parse } from '../parse';
import { median } from '../stats';
import { formatTable } from '../table';


export const BENCH_PRETRAIN_USAGE = `usage: pnpm tomosort bench pretrain [--quick] [--json] [--out FILE] [options]

Measures, in one run and each in its own process (so peak RSS is its own), one pre-training
step of SortingLoss, SimCLR and Barlow Twins at equal slices per step on the same backbone and
input size: median ms per step, tf.memory peak bytes, peak process RSS. Then the same net's
step on the stock tfjs cpu backend (tfjs' own conv gradients) against ours on --backend.

  --quick        small net, 64², 32 slices per step, 4 measured steps (< 3 min here)
  --model A      default resnet18 (quick: small);  --size S default 128 (quick: 64)
  --slices N     slices per step, default 32;  --steps N measured steps, default 8 (quick: 4)
  --stock-steps N  steps measured on stock cpu, default 1
  --backend B    wasm (default) | cpu | webgpu
  --out FILE     also write the JSON there;  --json  print the JSON instead of the table`;

interface ChildResult {
  readonly method: string;
  readonly backend: string;
  readonly msPerStep: number;
  readonly stepsMs: readonly number[];
  readonly peakBytes: number;
  readonly peakRssBytes: number;
}

interface Settings {
  readonly model: EncoderPreset;
  readonly size: number;
  readonly slices: number;
  readonly steps: number;
  readonly backend: string;
}

function methodFor(name: string, slices: number): MethodConfig {
  if (name === 'sorting') return { kind: 'sorting', volumesPerBatch: slices / 8, slicesPerVolume: 8, gapMm: [5, 40] };
  if (name === 'simclr') return { kind: 'simclr', slices: slices / 2 };
  return { kind: 'barlow', slices: slices / 2 };
}

/** One measurement, run inside a child process. */
async function measure(method: string, s: Settings, gradients: ConvGradients): Promise<ChildResult> {
  const backend = await startBackend(s.backend, true);
  const volumes = await loadPrepared(phantomSources({ subjects: 6, seed: 0 }), { plane: 'axial', size: s.size });
  const m = methodFor(method, s.slices);
  const encoder = encoderSpec(s.model);
  const model = createModel(m.kind === 'sorting' ? scoreModelSpec(encoder) : projectionModelSpec(encoder), { seed: 0, convGradients: gradients });
  const warmup = 1;
  const stepsMs: number[] = [];
  let peakRss = process.memoryUsage().rss;
  const info = await tf.profile(async () => {
    await train({
      model: asTrainable(model),
      volumes,
      config: { method: m, steps: warmup + s.steps, learningRate: 1e-3, optimizer: { kind: 'adam' }, schedule: { kind: 'constant' }, window: { center: 0, width: 2000 }, seed: 0, checkpointEvery: 0 },
      onEvent: (e) => {
        if (e.type !== 'step') return;
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (e.step > warmup) stepsMs.push(e.ms);
      },
    });
  });
  peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
  model.dispose();
  return { method, backend: backend.label, msPerStep: median(stepsMs), stepsMs, peakBytes: info.peakBytes, peakRssBytes: peakRss };
}

function runChild(args: readonly string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'bench', 'pretrain', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new CliError(`benchmark child (${args.join(' ')}) failed: ${err.trim().split('\n').slice(-3).join(' ')}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult);
    });
  });
}

export async function benchPretrain(args: readonly string[]): Promise<number> {
  const { values } = parse(
    args,
    {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      model: { type: 'string' },
      size: { type: 'string' },
      slices: { type: 'string' },
      steps: { type: 'string' },
      'stock-steps': { type: 'string' },
      backend: { type: 'string' },
      child: { type: 'string' },
      gradients: { type: 'string' },
    },
    BENCH_PRETRAIN_USAGE,
    false,
  );
  const quick = values.quick;
  const s: Settings = {
    model: (values.model ?? (quick ? 'small' : 'resnet18')) as EncoderPreset,
    size: intOption('size', values.size, quick ? 64 : 128, 8),
    slices: intOption('slices', values.slices, 32, 8),
    steps: intOption('steps', values.steps, quick ? 4 : 8, 1),
    backend: values.backend ?? 'wasm',
  };
  if (s.slices % 8 !== 0) throw new UsageError(`--slices must be a multiple of 8 (SortingLoss draws 8 slices per volume), got ${s.slices}`);
  const common = ['--model', s.model, '--size', String(s.size), '--slices', String(s.slices)];
  if (values.child) {
    const r = await measure(values.child, { ...s }, (values.gradients ?? 'fast') as ConvGradients);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const methods: Record<string, ChildResult> = {};
  for (const m of ['sorting', 'simclr', 'barlow']) {
    if (!values.json) process.stderr.write(`bench: ${m} …\n`);
    methods[m] = await runChild([...common, '--steps', String(s.steps), '--backend', s.backend, '--child', m]);
  }
  if (!values.json) process.stderr.write('bench: stock cpu …\n');
  const stockSteps = intOption('stock-steps', values['stock-steps'], 1, 1);
  const stock = await runChild([...common, '--steps', String(stockSteps), '--backend', 'cpu', '--gradients', 'stock', '--child', 'sorting']);
  const sorting = methods.sorting!;
  const cost = forwardCost(scoreModelSpec(encoderSpec(s.model)), s.size);
  const gflops = (3 * cost.flops * s.slices) / (sorting.msPerStep / 1000) / 1e9;
  const result = {
    backend: sorting.backend,
    model: s.model,
    size: s.size,
    slicesPerStep: s.slices,
    measuredSteps: s.steps,
    methods: Object.fromEntries(Object.entries(methods).map(([k, r]) => [k, { msPerStep: +r.msPerStep.toFixed(1), peakBytes: r.peakBytes, peakRssBytes: r.peakRssBytes }])),
    ratios: {
      simclrOverSortingTime: +(methods.simclr!.msPerStep / sorting.msPerStep).toFixed(2),
      simclrOverSortingPeakBytes: +(methods.simclr!.peakBytes / sorting.peakBytes).toFixed(2),
      barlowOverSortingTime: +(methods.barlow!.msPerStep / sorting.msPerStep).toFixed(2),
      barlowOverSortingPeakBytes: +(methods.barlow!.peakBytes / sorting.peakBytes).toFixed(2),
    },
    gflopsPerSecond: +gflops.toFixed(2),
    wasmVsStockCpu: { stockCpuMsPerStep: +stock.msPerStep.toFixed(1), oursMsPerStep: +sorting.msPerStep.toFixed(1), speedup: +(stock.msPerStep / sorting.msPerStep).toFixed(1) },
  };
  if (values.out) writeFileAtomic(userPath(values.out), `${JSON.stringify(result, null, 2)}\n`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  }
  const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
  process.stdout.write(
    `${formatTable(
      ['method', 'ms/step', 'tf peak', 'peak RSS', 'time vs sorting', 'memory vs sorting'],
      Object.entries(methods).map(([k, r]) => [k, r.msPerStep.toFixed(0), mb(r.peakBytes), mb(r.peakRssBytes), (r.msPerStep / sorting.msPerStep).toFixed(2), (r.peakBytes / sorting.peakBytes).toFixed(2)]),
    )}\n${s.model} at ${s.size}², ${s.slices} slices/step, ${s.steps} measured steps, ${result.backend}; ${result.gflopsPerSecond} GFLOP/s (sorting)\n` +
      `stock tfjs cpu: ${result.wasmVsStockCpu.stockCpuMsPerStep} ms/step → ours ${result.wasmVsStockCpu.speedup}x faster\n`,
  );
  return 0;
}
