import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, encoderSpec, forwardCost, projectionModelSpec, scoreModelSpec, unetModelSpec } from '@tomosort/models';
import type { ConvGradients, EncoderPreset, Model } from '@tomosort/models';
import { fitMmPerPixel, labelledPhantomSlices, loadPrepared, phantomSources } from '@tomosort/pretext';
import type { PreparedVolume } from '@tomosort/pretext';
import { phantomSubject } from '@tomosort/samples';
import { SEGMENTATION_AUGMENTATION, prepareAnnotation, prepareVolumeAnnotation, segmentationTask, volumeSegmentationTask } from '@tomosort/segment';
import { PROXY3D_METHODS, asTrainable, csprModelSpec, csprTask, proxy3dModelSpec, train } from '@tomosort/train';
import type { MethodConfig, TaskMethodConfig, TrainTask } from '@tomosort/train';
import { WEBGPU_KERNEL_GROUPS, countWebGpuWork, profileSecondStep, secondStepWork, useWebGpuKernels, webGpuKernelsInUse } from '@tomosort/backend';
import type { WebGpuKernelGroup, WebGpuWork } from '@tomosort/backend';
import { startBackend } from '../backendOption';
import { userPath } from '../env';
import { CliError, UsageError } from '../errors';
import { writeFileAtomic } from '../files';
import { intListOption, intOption, parse } from '../parse';
import { median } from '../stats';
import { formatTable } from '../table';
import { PHANTOM_CLASSES, proxy3dConfigFor, volumetricSettings } from '../experiment/run';
import { FULL_EXPERIMENT } from './experiment';

export const BENCH_PRETRAIN_USAGE = `usage: pnpm tomosort bench pretrain [--quick] [--json] [--out FILE] [options]

Measures pre-training steps, each configuration in its own process (so peak RSS is its own):

  speed    one SortingLoss step (B slices, groups of 8, Adam) of ResNet-18 at 128², batch 16 —
           the step of ../shared/anchors/torch_step.py — on native with each --threads count, on
           wasm, and in PyTorch when Debian's python3-torch is installed: median ms/step, GFLOP/s,
           and the ratios between them
  profile  milliseconds per tfjs kernel over one native step (names what is left of the gap)
  3d       one step of the 3D ResNet (--model, 3D) at --size-3d³ (default 64), --batch-3d
           volumes (default 2) on native and in PyTorch (torch_step.py --dims 3)
  methods  SortingLoss, SimCLR and Barlow Twins at equal slices per step (--slices) on --backend:
           median ms/step, tf.memory peak, peak RSS
  seeds3d  the 3D seed methods at the full experiment's 3D settings for --size (cube, patches, samples
           a step): each pre-training step (the five proxy tasks on unet-down, CSPR on --model 3D
           striding in-plane) and the 3D U-Net fine-tuning step (crops of 16 slices, 2 a step), on
           native: median ms/step, tf.memory peak, peak RSS, steps an hour (only when asked for)
  stock    the speed step on tfjs' stock cpu backend with tfjs' own conv gradients (minutes at
           128²; only when asked for with --parts)
  webgpu   on WebGPU (the machine's GPU through Dawn, else SwiftShader, a CPU emulation whose
           times say nothing of a GPU): the SortingLoss pre-training step (--slices) and the
           U-Net fine-tuning step (--finetune-batch) of --model, each with our WGSL kernels
           (reading the loss every --read-every steps) and with tfjs' own (reading every step),
           plus one row per --without group: ms/step, GFLOP/s, dispatches and readbacks a
           step, peak GPU memory (only when asked for)

  --parts LIST     default speed,profile,3d,methods
  --quick          small net, 64², 4 measured steps, no PyTorch (< 3 min here)
  --model A        default resnet18 (quick: small);  --size S default 128 (quick: 64)
  --batch N        slices per speed step, default 16;  --slices N  per methods step, default 32
  --steps N        measured steps, default 8 (quick: 4), after one warm-up step
  --threads LIST   native thread counts for the speed part, default 1,<cores>
  --backend B      the methods part's backend, default native
  --finetune-batch N  the webgpu part's fine-tuning images a step, default 8
  --read-every N   the webgpu part's readback interval with our kernels, default 8
  --without LIST   webgpu part: also a row with all our kernels but each of these groups
                   (${WEBGPU_KERNEL_GROUPS.join(', ')}; 'each' = every one)
  --torch-python P the Python with Debian's torch, default /usr/bin/python3
  --torch-script F default ../shared/anchors/torch_step.py beside the repository
  --out FILE       also write the JSON there;  --json  print the JSON instead of the tables`;

const PARTS = ['speed', 'profile', '3d', 'methods', 'seeds3d', 'stock', 'webgpu'] as const;
type Part = (typeof PARTS)[number];

/** One measurement, made in a child process. */
interface StepResult {
  readonly method: string;
  readonly backend: string;
  readonly msPerStep: number;
  readonly stepsMs: readonly number[];
  readonly peakBytes: number;
  readonly peakRssBytes: number;
  /** On webgpu: our kernel groups in use, and the work of one steady step (dispatches, readbacks) and of the run (peak GPU bytes). */
  /** perStep: one steady step's dispatches and readbacks; peakGpuBytes: the whole run's. */
  readonly webgpu?: { readonly kernels: readonly string[]; readonly readEvery: number; readonly perStep: Pick<WebGpuWork, 'dispatches' | 'readbacks'>; readonly peakGpuBytes: number };
  /** With --profile: kernel name → total ms and calls over one step, and the step's wall time. */
  readonly profile?: { readonly stepMs: number; readonly kernels: readonly { name: string; ms: number; calls: number }[] };
}

interface TorchResult {
  readonly framework: string;
  readonly threads: number;
  readonly msPerStep: { readonly median: number; readonly min: number; readonly max: number };
  readonly gflopPerStep: number;
}

interface ChildSettings {
  readonly model: EncoderPreset;
  readonly size: number;
  readonly slices: number;
  readonly steps: number;
  readonly backend: string | undefined;
  readonly threads: string | undefined;
  readonly gradients: ConvGradients;
  readonly profile: boolean;
  /** webgpu: 'all', 'none' or a comma list of our kernel groups. */
  readonly webgpuKernels: string | undefined;
  readonly readEvery: number;
}

function methodFor(name: string, slices: number): MethodConfig {
  if (name === 'sorting') return { kind: 'sorting', volumesPerBatch: slices / 8, slicesPerVolume: 8, gapMm: [5, 40] };
  if (name === 'simclr') return { kind: 'simclr', slices: slices / 2 };
  return { kind: 'barlow', slices: slices / 2 };
}

/** One configuration, inside a child process: one warm-up step, then the measured ones (and the profiled one). */
/**
 * The 3D step of torch_step.py --dims 3: `batch` random volumes of size³ through a 3D ResNet
 * with a score head, the pairwise loss softplus(sᵢ − sⱼ) over i < j, Adam.
 */
function volumeTask(size: number, batch: number): TrainTask<null> {
  const x = tf.keep(tf.randomNormal([batch, size, size, size, 1], 0, 1, 'float32', 0) as tf.Tensor5D);
  return {
    slicesPerStep: batch,
    draw: () => null,
    loss: (model) =>
      tf.tidy(() => {
        const scores = tf.reshape((model.apply as unknown as (v: tf.Tensor5D, training: boolean) => tf.Tensor)(x, true), [batch]);
        const d = tf.sub(tf.expandDims(scores, 1), tf.expandDims(scores, 0));
        const upper = tf.tensor2d(Array.from({ length: batch * batch }, (_, k) => (k % batch > Math.floor(k / batch) ? 1 : 0)), [batch, batch]);
        return tf.div(tf.sum(tf.mul(tf.softplus(d), upper)), tf.sum(upper)) as tf.Scalar;
      }),
  };
}

/** The 3D seed methods' steps the seeds3d part times: each pre-training, and the 3D U-Net fine-tuning step. */
const SEEDS_3D = [...PROXY3D_METHODS, 'cspr', 'finetune3d'] as const;

/** The network, method and data of a 3D seed method's step at the full experiment's 3D settings for `size`. */
async function seed3dSetup(method: string, s: ChildSettings): Promise<{ model: Model; m: MethodConfig | TaskMethodConfig; task: { volumes: PreparedVolume[] } | { task: TrainTask } }> {
  const v = volumetricSettings({ ...FULL_EXPERIMENT, size: s.size });
  const window = FULL_EXPERIMENT.window;
  const sources = phantomSources({ subjects: 6, seed: 0 });
  const first = await sources[0]!.load();
  const prepare = { plane: 'axial' as const, size: s.size, mmPerPixel: fitMmPerPixel(first, 'axial', s.size), window };
  const proxy = proxy3dConfigFor(method, v);
  if (proxy) return { model: createModel(proxy3dModelSpec(proxy, encoderSpec('unet-down', { dims: 3 })), { seed: 0 }), m: proxy, task: { volumes: await loadPrepared(sources, prepare) } };
  if (method === 'cspr') {
    const slabs = labelledPhantomSlices({ subjects: 6, seed: 0, prepare });
    const task = csprTask(slabs, { samples: v.samples, window });
    return { model: createModel(csprModelSpec(encoderSpec(s.model, { dims: 3, inPlaneStrides: true }), slabs.classes.length), { seed: 0 }), m: { kind: 'task', name: 'cspr', slicesPerStep: task.slicesPerStep, settings: {} }, task: { task } };
  }
  // finetune3d: the 3D U-Net on crops of v.depth slices, 5 annotated slices of a phantom subject, as the experiment fine-tunes.
  const subject = phantomSubject(0, 1);
  const nz = subject.volume.dims[2];
  const slices = [0, 1, 2, 3, 4].map((i) => Math.floor(((i + 0.5) * nz) / 5));
  const data = [prepareVolumeAnnotation({ id: subject.id, volume: subject.volume, labels: subject.labels, slices }, s.size, PHANTOM_CLASSES, prepare)];
  const task = volumeSegmentationTask(data, { batch: v.batch, depth: v.depth, window, augmentation: SEGMENTATION_AUGMENTATION });
  return { model: createModel(unetModelSpec(encoderSpec('unet-down', { dims: 3 }), { classes: PHANTOM_CLASSES.length + 1 }), { seed: 0 }), m: { kind: 'task', name: 'finetune3d', slicesPerStep: task.slicesPerStep, settings: {} }, task: { task } };
}

/** The 2D U-Net fine-tuning step on --model: `slices` images a step from 5 annotated slices of a phantom subject. */
async function finetune2dSetup(s: ChildSettings): Promise<{ model: Model; m: TaskMethodConfig; task: { task: TrainTask } }> {
  const subject = phantomSubject(0, 1);
  const nz = subject.volume.dims[2];
  const slices = [0, 1, 2, 3, 4].map((i) => Math.floor(((i + 0.5) * nz) / 5));
  const window = FULL_EXPERIMENT.window;
  const prepare = { plane: 'axial' as const, size: s.size, mmPerPixel: fitMmPerPixel(subject.volume, 'axial', s.size), window };
  const data = [prepareAnnotation({ id: subject.id, volume: subject.volume, labels: subject.labels, slices }, s.size, PHANTOM_CLASSES, prepare)];
  const task = segmentationTask(data, { batch: s.slices, window, augmentation: SEGMENTATION_AUGMENTATION });
  const model = createModel(unetModelSpec(encoderSpec(s.model), { classes: PHANTOM_CLASSES.length + 1 }), { seed: 0 });
  return { model, m: { kind: 'task', name: 'finetune', slicesPerStep: task.slicesPerStep, settings: {} }, task: { task } };
}

function webgpuKernelChoice(v: string | undefined): 'all' | 'none' | WebGpuKernelGroup[] {
  if (v === undefined || v === 'all' || v === 'none') return v ?? 'all';
  const groups = v.split(',').filter(Boolean);
  for (const g of groups) if (!(WEBGPU_KERNEL_GROUPS as readonly string[]).includes(g)) throw new UsageError(`unknown webgpu kernel group "${g}"; known: ${WEBGPU_KERNEL_GROUPS.join(', ')}`);
  return groups as WebGpuKernelGroup[];
}

async function measure(method: string, s: ChildSettings): Promise<StepResult> {
  const backend = await startBackend({ backend: s.backend, threads: s.threads }, true);
  const gpu = backend.active === 'webgpu';
  if (gpu) useWebGpuKernels(webgpuKernelChoice(s.webgpuKernels));
  let model: Model;
  let m: MethodConfig | TaskMethodConfig;
  let task: { volumes: PreparedVolume[] } | { task: TrainTask };
  if ((SEEDS_3D as readonly string[]).includes(method)) ({ model, m, task } = await seed3dSetup(method, s));
  else if (method === 'finetune') ({ model, m, task } = await finetune2dSetup(s));
  else {
    const volumetric = method === 'sorting3d';
    const volumes = volumetric ? [] : await loadPrepared(phantomSources({ subjects: 6, seed: 0 }), { plane: 'axial', size: s.size });
    m = volumetric ? { kind: 'task', name: 'pairwise-3d', slicesPerStep: s.slices, settings: { size: s.size } } : methodFor(method, s.slices);
    const encoder = encoderSpec(s.model, volumetric ? { dims: 3 } : {});
    model = createModel(m.kind === 'sorting' || volumetric ? scoreModelSpec(encoder) : projectionModelSpec(encoder), { seed: 0, convGradients: s.gradients });
    task = volumetric ? { task: volumeTask(s.size, s.slices) } : { volumes };
  }
  const trainable = asTrainable(model);
  const config = (steps: number) =>
    ({ method: m, steps, learningRate: 1e-3, optimizer: { kind: 'adam' }, schedule: { kind: 'constant' }, window: { center: 0, width: 2000 }, seed: 0, checkpointEvery: 0 }) as const;
  const warmup = 1;
  const stepsMs: number[] = [];
  let peakRss = process.memoryUsage().rss;
  const run = (steps: number, readEvery: number, onStep: (step: number, ms: number) => void) =>
    train({
      model: trainable,
      ...task,
      config: config(steps),
      readEvery,
      onEvent: (e) => {
        if (e.type !== 'step') return;
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        onStep(e.step, e.ms);
      },
    });
  let peakBytes = 0;
  let webgpu: StepResult['webgpu'];
  if (gpu) {
    // tf.profile would time every kernel (a submit each), so webgpu is measured by our counter.
    // Warm-up (pipelines compile) in its own run, so the measured blocks hold measured steps only.
    await run(warmup, 1, () => {});
    const counter = countWebGpuWork();
    try {
      await run(s.steps, s.readEvery, (_, ms) => stepsMs.push(ms));
      const whole = counter.read();
      const { dispatches, readbacks } = await secondStepWork(counter, (onStep) => run(2, 1, onStep));
      webgpu = { kernels: webGpuKernelsInUse(), readEvery: s.readEvery, perStep: { dispatches, readbacks }, peakGpuBytes: whole.peakGpuBytes };
      peakBytes = whole.peakGpuBytes;
    } finally {
      counter.stop();
    }
  } else {
    const info = await tf.profile(async () => {
      await run(warmup + s.steps, 1, (step, ms) => step > warmup && stepsMs.push(ms));
    });
    peakBytes = info.peakBytes;
  }
  peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
  let profile: StepResult['profile'];
  if (s.profile) {
    // Each train() starts a new optimiser, so its second step is a steady one.
    profile = await profileSecondStep((onStep) => train({ model: trainable, ...task, config: config(2), onEvent: (e) => e.type === 'step' && onStep(e.step, e.ms) }));
  }
  model.dispose();
  return { method, backend: backend.label, msPerStep: median(stepsMs), stepsMs, peakBytes, peakRssBytes: peakRss, ...(webgpu ? { webgpu } : {}), ...(profile ? { profile } : {}) };
}

function runProcess(command: string, args: readonly string[], what: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new CliError(`${what}: ${e.message}`)));
    child.on('close', (code) => {
      if (code !== 0) reject(new CliError(`${what} failed: ${err.trim().split('\n').slice(-3).join(' ')}`));
      else resolvePromise(out.trim().split('\n').at(-1) ?? '');
    });
  });
}

async function runChild(args: readonly string[]): Promise<StepResult> {
  const line = await runProcess(process.execPath, [...process.execArgv, process.argv[1]!, 'bench', 'pretrain', ...args], `benchmark child (${args.join(' ')})`);
  return JSON.parse(line) as StepResult;
}

/** Where the PyTorch comparator runs. */
interface Torch {
  readonly python: string;
  readonly script: string;
}

/** The PyTorch comparator if its script exists and the Python imports torch, else why it is not run. */
async function findTorch(python: string, script: string): Promise<Torch | string> {
  if (!existsSync(script)) return `not run: ${script} not found`;
  try {
    await runProcess(python, ['-c', 'import torch'], 'python3-torch check');
  } catch {
    return `not run: ${python} cannot import torch (apt-get install python3-torch)`;
  }
  return { python, script };
}

/** One torch_step.py measurement, or why it was not run. */
async function runTorch(torch: Torch | string, size: number, batch: number, threads: number, steps: number, dims: 2 | 3 = 2): Promise<TorchResult | string> {
  if (typeof torch === 'string') return torch;
  const line = await runProcess(torch.python, [torch.script, '--size', String(size), '--batch', String(batch), '--threads', String(threads), '--steps', String(steps), '--warmup', '2', '--dims', String(dims)], 'torch_step.py');
  return JSON.parse(line) as TorchResult;
}

/** ../shared/anchors/torch_step.py beside the repository this file is in. */
function defaultTorchScript(): string {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
  return join(repo, '..', 'shared', 'anchors', 'torch_step.py');
}

const fixed = (x: number, d = 1) => +x.toFixed(d);

export async function benchPretrain(args: readonly string[]): Promise<number> {
  const { values } = parse(
    args,
    {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      parts: { type: 'string' },
      model: { type: 'string' },
      size: { type: 'string' },
      batch: { type: 'string' },
      slices: { type: 'string' },
      steps: { type: 'string' },
      threads: { type: 'string' },
      backend: { type: 'string' },
      'size-3d': { type: 'string' },
      'batch-3d': { type: 'string' },
      'torch-python': { type: 'string' },
      'torch-script': { type: 'string' },
      child: { type: 'string' },
      gradients: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'finetune-batch': { type: 'string' },
      'read-every': { type: 'string' },
      without: { type: 'string' },
      'webgpu-kernels': { type: 'string' },
    },
    BENCH_PRETRAIN_USAGE,
    false,
  );
  const quick = values.quick;
  const model = (values.model ?? (quick ? 'small' : 'resnet18')) as EncoderPreset;
  const size = intOption('size', values.size, quick ? 64 : 128, 8);
  const batch = intOption('batch', values.batch, 16, 8);
  const anyCount = values.child === 'sorting3d' || values.child === 'finetune';
  const slices = intOption('slices', values.slices, 32, anyCount ? 1 : 8);
  const steps = intOption('steps', values.steps, quick ? 4 : 8, 1);
  for (const [name, n] of [['batch', batch], ['slices', slices]] as const) {
    if (n % 8 !== 0 && !anyCount) throw new UsageError(`--${name} must be a multiple of 8 (SortingLoss draws 8 slices per volume), got ${n}`);
  }
  if (values.child) {
    const r = await measure(values.child, {
      model,
      size,
      slices,
      steps,
      backend: values.backend,
      threads: values.threads,
      gradients: (values.gradients ?? 'fast') as ConvGradients,
      profile: values.profile,
      webgpuKernels: values['webgpu-kernels'],
      readEvery: intOption('read-every', values['read-every'], 1, 1),
    });
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const parts = (values.parts ?? 'speed,profile,3d,methods').split(',').map((p) => p.trim()) as Part[];
  for (const p of parts) if (!PARTS.includes(p)) throw new UsageError(`--parts: unknown part "${p}"; known: ${PARTS.join(', ')}`);
  const threadCounts = values.threads ? intListOption('threads', values.threads) : [...new Set([1, availableParallelism()])];
  const say = (m: string) => {
    if (!values.json) process.stderr.write(`bench: ${m} …\n`);
  };
  const common = ['--model', model, '--size', String(size), '--steps', String(steps)];
  const gflopPerStep = (n: number) => (3 * forwardCost(scoreModelSpec(encoderSpec(model)), size).flops * n) / 1e9;
  const result: Record<string, unknown> = { model, size, measuredSteps: steps };
  let torchFound: Promise<Torch | string> | undefined;
  const torchComparator = () => (torchFound ??= findTorch(values['torch-python'] ?? '/usr/bin/python3', userPath(values['torch-script'] ?? defaultTorchScript())));
  const tables: string[] = [];

  if (parts.includes('speed') || parts.includes('stock')) {
    const rows: { name: string; threads: number | null; msPerStep: number; gflops: number; backend: string }[] = [];
    const gflop = gflopPerStep(batch);
    const step = (r: StepResult, name: string, threads: number | null) => rows.push({ name, threads, msPerStep: fixed(r.msPerStep), gflops: fixed(gflop / (r.msPerStep / 1000), 1), backend: r.backend });
    if (parts.includes('speed')) {
      for (const t of threadCounts) {
        say(`speed: native, ${t} thread(s)`);
        step(await runChild([...common, '--slices', String(batch), '--backend', 'native', '--threads', String(t), '--child', 'sorting']), 'tomosort native', t);
      }
      say('speed: wasm');
      step(await runChild([...common, '--slices', String(batch), '--backend', 'wasm', '--child', 'sorting']), 'tomosort wasm', 1);
    }
    if (parts.includes('stock')) {
      say('stock cpu (slow)');
      step(await runChild([...common, '--slices', String(batch), '--steps', '1', '--backend', 'cpu', '--gradients', 'stock', '--child', 'sorting']), 'tfjs cpu, stock gradients', 1);
    }
    const torch: Record<string, TorchResult | string> = {};
    if (parts.includes('speed') && !quick && model === 'resnet18') {
      const torchAt = await torchComparator();
      for (const t of threadCounts) {
        say(`speed: PyTorch, ${t} thread(s)`);
        const r = await runTorch(torchAt, size, batch, t, steps);
        torch[String(t)] = r;
        if (typeof r !== 'string') rows.push({ name: r.framework, threads: t, msPerStep: r.msPerStep.median, gflops: fixed(r.gflopPerStep / (r.msPerStep.median / 1000), 1), backend: 'PyTorch (oneDNN)' });
      }
    }
    const torchMs = (t: number | null) => rows.find((r) => r.backend === 'PyTorch (oneDNN)' && r.threads === t)?.msPerStep;
    const wasm = rows.find((r) => r.name === 'tomosort wasm')?.msPerStep;
    const speed = rows.map((r) => ({
      ...r,
      vsPytorchSameThreads: r.backend !== 'PyTorch (oneDNN)' && torchMs(r.threads) ? fixed(r.msPerStep / torchMs(r.threads)!, 2) : null,
      wasmOverThis: wasm && r.name === 'tomosort native' ? fixed(wasm / r.msPerStep, 1) : null,
    }));
    const torchNotes = Object.entries(torch).flatMap(([t, r]) => (typeof r === 'string' ? [`PyTorch ${t} thread(s): ${r}`] : []));
    result.speed = { batch, gflopPerStep: fixed(gflop, 2), rows: speed, notes: torchNotes };
    tables.push(
      `${formatTable(
        ['step', 'threads', 'ms/step', 'GFLOP/s', '÷ PyTorch (same threads)', 'wasm ÷ this'],
        speed.map((r) => [r.name, r.threads ?? '', r.msPerStep.toFixed(0), r.gflops.toFixed(1), r.vsPytorchSameThreads ?? '', r.wasmOverThis ?? '']),
      )}\n${model} at ${size}², SortingLoss, ${batch} slices/step (${fixed(gflop, 1)} GFLOP), Adam; median of ${steps} steps${torchNotes.length ? `\n${torchNotes.join('\n')}` : ''}`,
    );
  }

  if (parts.includes('profile')) {
    const t = threadCounts.at(-1)!;
    say(`profile: one native step, ${t} thread(s)`);
    const r = await runChild([...common, '--slices', String(batch), '--backend', 'native', '--threads', String(t), '--profile', '--child', 'sorting']);
    const p = r.profile!;
    const inKernels = p.kernels.reduce((n, k) => n + k.ms, 0);
    result.profile = { threads: t, stepMs: p.stepMs, kernelMs: fixed(inKernels), kernels: p.kernels };
    const top = p.kernels.slice(0, 14);
    tables.push(
      `${formatTable(
        ['kernel', 'calls', 'ms', 'share'],
        [...top.map((k) => [k.name, k.calls, k.ms.toFixed(1), `${((100 * k.ms) / p.stepMs).toFixed(1)}%`]), ['(other kernels)', p.kernels.slice(14).reduce((n, k) => n + k.calls, 0), (inKernels - top.reduce((n, k) => n + k.ms, 0)).toFixed(1), ''], ['(outside kernels: JS, tape, batch drawing)', '', (p.stepMs - inKernels).toFixed(1), `${((100 * (p.stepMs - inKernels)) / p.stepMs).toFixed(1)}%`]],
      )}\none profiled native step (${t} thread(s)): ${p.stepMs} ms wall, ${fixed(inKernels)} ms in kernels (profiling adds overhead)`,
    );
  }

  if (parts.includes('3d')) {
    const size3 = intOption('size-3d', values['size-3d'], quick ? 32 : 64, 8);
    const batch3 = intOption('batch-3d', values['batch-3d'], 2, 2);
    const gflop = (3 * forwardCost(scoreModelSpec(encoderSpec(model, { dims: 3 })), size3).flops * batch3) / 1e9;
    const rows: { name: string; threads: number; msPerStep: number; gflops: number }[] = [];
    const torchNotes: string[] = [];
    for (const t of threadCounts) {
      say(`3d: native, ${t} thread(s)`);
      const r = await runChild(['--model', model, '--size', String(size3), '--steps', String(steps), '--slices', String(batch3), '--backend', 'native', '--threads', String(t), '--child', 'sorting3d']);
      rows.push({ name: 'tomosort native', threads: t, msPerStep: fixed(r.msPerStep), gflops: fixed(gflop / (r.msPerStep / 1000)) });
    }
    if (!quick && model === 'resnet18') {
      for (const t of threadCounts) {
        say(`3d: PyTorch, ${t} thread(s)`);
        const r = await runTorch(await torchComparator(), size3, batch3, t, steps, 3);
        if (typeof r === 'string') torchNotes.push(`PyTorch ${t} thread(s): ${r}`);
        else rows.push({ name: r.framework, threads: t, msPerStep: r.msPerStep.median, gflops: fixed(r.gflopPerStep / (r.msPerStep.median / 1000)) });
      }
    }
    const torchMs = (t: number) => rows.find((r) => r.name.startsWith('pytorch') && r.threads === t)?.msPerStep;
    const rows3 = rows.map((r) => ({ ...r, vsPytorchSameThreads: !r.name.startsWith('pytorch') && torchMs(r.threads) ? fixed(r.msPerStep / torchMs(r.threads)!, 2) : null }));
    result.threeD = { size: size3, batch: batch3, gflopPerStep: fixed(gflop, 2), rows: rows3, notes: torchNotes };
    tables.push(
      `${formatTable(
        ['3D step', 'threads', 'ms/step', 'GFLOP/s', '÷ PyTorch (same threads)'],
        rows3.map((r) => [r.name, r.threads, r.msPerStep.toFixed(0), r.gflops.toFixed(1), r.vsPytorchSameThreads ?? '']),
      )}
${model} 3D at ${size3}³, ${batch3} volumes/step (${fixed(gflop, 1)} GFLOP), pairwise ranking loss, Adam; median of ${steps} steps; wasm not run (its Conv3D gradients are naive loops, minutes a step)${torchNotes.length ? `\n${torchNotes.join('\n')}` : ''}`,
    );
  }

  if (parts.includes('seeds3d')) {
    const rows: Record<string, StepResult> = {};
    for (const m of SEEDS_3D) {
      say(`seeds3d: ${m}`);
      rows[m] = await runChild([...common, '--backend', 'native', ...(values.threads ? ['--threads', String(threadCounts.at(-1))] : []), '--child', m]);
    }
    const v = volumetricSettings({ ...FULL_EXPERIMENT, size });
    result.seeds3d = { settings: v, byMethod: Object.fromEntries(Object.entries(rows).map(([k, r]) => [k, { msPerStep: fixed(r.msPerStep), peakBytes: r.peakBytes, peakRssBytes: r.peakRssBytes, backend: r.backend }])) };
    const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
    tables.push(
      `${formatTable(
        ['3D seed method', 'ms/step', 'tf peak', 'peak RSS', 'steps an hour'],
        Object.entries(rows).map(([k, r]) => [k, r.msPerStep.toFixed(0), mb(r.peakBytes), mb(r.peakRssBytes), Math.floor(3.6e6 / r.msPerStep)]),
      )}\n${size}² field of view: cubes ${v.cube}³, patches ${v.patch}³, ${v.samples} samples a step; CSPR ${model} 3D in-plane; fine-tuning crops of ${v.depth} slices, ${v.batch} a step; ${steps} measured steps, ${Object.values(rows)[0]?.backend ?? ''}`,
    );
  }

  if (parts.includes('methods')) {
    const methods: Record<string, StepResult> = {};
    const backendArgs = [...(values.backend ? ['--backend', values.backend] : []), ...(values.threads ? ['--threads', String(threadCounts.at(-1))] : [])];
    for (const m of ['sorting', 'simclr', 'barlow']) {
      say(`methods: ${m}`);
      methods[m] = await runChild([...common, '--slices', String(slices), ...backendArgs, '--child', m]);
    }
    const sorting = methods.sorting!;
    result.methods = {
      backend: sorting.backend,
      slicesPerStep: slices,
      byMethod: Object.fromEntries(Object.entries(methods).map(([k, r]) => [k, { msPerStep: fixed(r.msPerStep), peakBytes: r.peakBytes, peakRssBytes: r.peakRssBytes }])),
      ratios: {
        simclrOverSortingTime: fixed(methods.simclr!.msPerStep / sorting.msPerStep, 2),
        simclrOverSortingPeakBytes: fixed(methods.simclr!.peakBytes / sorting.peakBytes, 2),
        barlowOverSortingTime: fixed(methods.barlow!.msPerStep / sorting.msPerStep, 2),
        barlowOverSortingPeakBytes: fixed(methods.barlow!.peakBytes / sorting.peakBytes, 2),
      },
      gflopsPerSecond: fixed(gflopPerStep(slices) / (sorting.msPerStep / 1000), 2),
    };
    const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
    tables.push(
      `${formatTable(
        ['method', 'ms/step', 'tf peak', 'peak RSS', 'time vs sorting', 'memory vs sorting'],
        Object.entries(methods).map(([k, r]) => [k, r.msPerStep.toFixed(0), mb(r.peakBytes), mb(r.peakRssBytes), (r.msPerStep / sorting.msPerStep).toFixed(2), (r.peakBytes / sorting.peakBytes).toFixed(2)]),
      )}\n${model} at ${size}², ${slices} slices/step, ${steps} measured steps, ${sorting.backend}`,
    );
  }

  if (parts.includes('webgpu')) {
    const finetuneBatch = intOption('finetune-batch', values['finetune-batch'], 8, 1);
    const readEvery = intOption('read-every', values['read-every'], 8, 1);
    const without = values.without === 'each' ? [...WEBGPU_KERNEL_GROUPS] : values.without ? (webgpuKernelChoice(values.without) as WebGpuKernelGroup[]) : [];
    const variants = [
      { name: 'ours', kernels: 'all', readEvery },
      { name: "tfjs' kernels", kernels: 'none', readEvery: 1 },
      ...without.map((g) => ({ name: `ours without ${g}`, kernels: WEBGPU_KERNEL_GROUPS.filter((x) => x !== g).join(','), readEvery })),
    ];
    const stepKinds = [
      { name: 'pre-training (SortingLoss)', child: 'sorting', images: slices, gflop: gflopPerStep(slices) },
      { name: 'fine-tuning (U-Net)', child: 'finetune', images: finetuneBatch, gflop: (3 * forwardCost(unetModelSpec(encoderSpec(model), { classes: PHANTOM_CLASSES.length + 1 }), size).flops * finetuneBatch) / 1e9 },
    ];
    const rows: Record<string, unknown>[] = [];
    for (const k of stepKinds) {
      for (const v of variants) {
        say(`webgpu: ${k.name}, ${v.name}`);
        const r = await runChild([...common, '--slices', String(k.images), '--backend', 'webgpu', '--webgpu-kernels', v.kernels, '--read-every', String(v.readEvery), '--child', k.child]);
        const w = r.webgpu!;
        rows.push({
          step: k.name,
          kernels: v.name,
          images: k.images,
          readEvery: v.readEvery,
          msPerStep: fixed(r.msPerStep),
          gflops: fixed(k.gflop / (r.msPerStep / 1000), 1),
          dispatchesPerStep: w.perStep.dispatches,
          readbacksPerStep: w.perStep.readbacks,
          peakGpuBytes: w.peakGpuBytes,
          backend: r.backend,
          groups: w.kernels,
        });
      }
    }
    const backendLabel = String(rows[0]?.backend ?? 'webgpu');
    const software = /swiftshader/i.test(backendLabel);
    result.webgpu = { backend: backendLabel, softwareAdapter: software, rows };
    const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
    tables.push(
      `${formatTable(
        ['step', 'kernels', 'read every', 'ms/step', 'GFLOP/s', 'dispatches/step', 'GPU readbacks/step', 'peak GPU'],
        rows.map((r) => [r.step as string, r.kernels as string, r.readEvery as number, (r.msPerStep as number).toFixed(0), (r.gflops as number).toFixed(1), r.dispatchesPerStep as number, r.readbacksPerStep as number, mb(r.peakGpuBytes as number)]),
      )}\n${model} at ${size}², pre-training ${slices} slices a step, fine-tuning ${finetuneBatch} images a step, Adam; median of ${steps} steps after one warm-up run (read every N: each step's time is its block's mean); dispatches and readbacks of one steady step (a step's loss and gradient norm are one buffer, read back every step either way; read every N drains the queue once per N steps); "tfjs' kernels" is the path before our WGSL kernels (tfjs' kernels, conv2d/conv3d gradients as forward convs, composite batch norm and Adam); ${backendLabel}${software ? ' — SwiftShader emulates a GPU on the CPU: its times say nothing of a GPU; the dispatch and readback counts are the same on any adapter' : ''}`,
    );
  }

  if (values.out) writeFileAtomic(userPath(values.out), `${JSON.stringify(result, null, 2)}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`${tables.join('\n\n')}\n`);
  return 0;
}
