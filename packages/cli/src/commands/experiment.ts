import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from '../cli';
import { nativeThreads } from '@tomosort/native';
import { BACKEND_OPTIONS, BACKEND_USAGE, startBackend } from '../backendOption';
import { userPath } from '../env';
import { CliError, UsageError } from '../errors';
import { writeFileAtomic } from '../files';
import { ALL_EXPERIMENT_METHODS, EXPERIMENT_METHODS, mergeResults } from '../experiment/run';
import { runWithCases, submitGrid } from '../experiment/grid';
import { inParallel } from '../parallel';
import { progressBar } from '../progress';
import type { ExperimentConfig, ExperimentMethod, ExperimentResult } from '../experiment/run';
import { experimentJson, experimentMarkdown, experimentPlots } from '../experiment/report';
import { svgToPng } from '../experiment/plot';
import { ExperimentStore, codeCommit } from '../experiment/store';
import { JSON_OPTION, intListOption, intOption, parse } from '../parse';

/**
 * The full comparison at the scale the question needs: ResNet-18 at 128², pre-training long
 * enough to plateau (the report shows the curve), 5 seeds, each on its own held-out subject, and
 * the time-to-quality snapshots. 15–20 hours on this 2-core CPU (native kernels, --jobs 2, one
 * thread each): fine-tuning dominates (~270 fine-tunings of 4–6 min), then SimCLR and Barlow Twins
 * (~3.7 s a step). Run it with --resume across sittings.
 */
export const FULL_EXPERIMENT: ExperimentConfig = {
  seed: 0,
  model: 'resnet18',
  size: 128,
  window: { center: 40, width: 400 },
  methods: EXPERIMENT_METHODS,
  pretrain: { subjects: 24, steps: 2000, slicesPerStep: 32, learningRate: 1e-3 },
  finetune: { frozenSteps: 30, steps: 120, batch: 8, learningRate: 1e-3 },
  budgets: [2, 5, 10, 20],
  seeds: [1, 2, 3, 4, 5],
  phantomSubjects: 5,
  subjectPerSeed: true,
  timeToQuality: { budget: 5, seeds: 3, fractions: [0.125, 0.25, 0.5] },
  localization: { subjects: 12, stacks: [1, 3, 10], stacksPerPair: 4, probeSteps: 100 },
  real: ['cranium', 'colin27'],
  sameSubject: { steps: 500, perPair: 20 },
};

/** A few minutes here (CI): the small encoder at 32², fewer steps, one seed, one subject. Same code path. */
export const QUICK_EXPERIMENT: ExperimentConfig = {
  ...FULL_EXPERIMENT,
  model: 'small',
  size: 32,
  pretrain: { ...FULL_EXPERIMENT.pretrain, subjects: 12, steps: 60, learningRate: 3e-3 },
  finetune: { frozenSteps: 20, steps: 20, batch: 8, learningRate: 3e-3 },
  seeds: [1],
  phantomSubjects: 1,
  timeToQuality: { budget: 2, seeds: 1, fractions: [0.5] },
  localization: { ...FULL_EXPERIMENT.localization, subjects: 5, stacksPerPair: 3, probeSteps: 30 },
  sameSubject: { steps: 20, perPair: 5 },
};

const USAGE = `usage: pnpm tomosort experiment [--quick] [--json] [--out DIR] [options]

Pre-trains SimCLR, Barlow Twins and SortingLoss on the phantom cohort (the same encoder, input
size, physical scale and source slices per step; scratch is random weights), then for each, and
for contour interpolation of the same slices (what OHIF offers): fine-tunes on 2, 5, 10 and 20
annotated slices of held-out subjects (Dice on the other slices; seeds vary the decoder and the
choice of slices; mean with 95% intervals and paired differences), scores held-out subjects
(Spearman ρ) and localizes stacks of 1, 3 and 10 slices in held-out references; the same on the
sample head CT. Writes report.md, result.json and PNG plots to --out; reproducible from --seed.
The full run (ResNet-18 at 128², 2000 pre-training steps, 5 seeds) takes 15–20 hours on a 2-core CPU:
stop it at any time and continue with --resume. Also: time to quality (Dice from pre-training
snapshots at 12.5%, 25%, 50% of the steps, against the time they took).

  --quick          a few minutes (small encoder at 32², fewer steps, one seed, one subject)
  --out DIR        report folder (default experiment-out)
  --methods LIST   subset of scratch,interpolation,simclr,barlow,sorting (the default: all of them), and the 3D
                   seed methods scratch3d,rotation3d,rpl3d,jigsaw3d,exemplar3d,cpc3d,cspr (Taleb et al.'s
                   proxy tasks on their 3D U-Net down path, CSPR on a 3D ResNet striding in-plane; each
                   fine-tuned as a 3D U-Net on crops of 16 slices, the loss on the same annotated slices)
  --budgets LIST   annotated slices per subject (default 2,5,10,20)
  --steps N        pre-training steps;  --seeds N  fine-tuning seeds;  --seed N  data and init seed
  --finetune-steps W,N  fine-tuning steps: W with the encoder frozen, then N full (default 30,120;
                   --quick 20,20)
  --no-cranium     skip the head CT;  --no-colin27  skip the brain MR (sample:colin27)
  --jobs N         run the methods in N processes at once (default 1; wasm uses one core each)
  --queue URL      redis://HOST[:PORT]: the grid as jobs for \`tomosort worker\`s on any machines —
                   per method its pre-training, then one job per (budget, seed, subject). Each job's
                   units come back through Redis (its result) into --out; the report is written here
                   once all jobs are done, from the same units a single-machine run computes.
  --worker-out DIR with --queue: the folder the workers share (pre-trained models and checkpoints,
                   read by the fine-tuning jobs), on storage every worker sees; default --out
  --resume         continue a stopped run: every finished unit (a fine-tuning's Dice, a method's
                   scores, pre-training checkpoints) is kept in DIR/work/<settings hash>/ and reused
${BACKEND_USAGE}
  --json           print {"dice":{method:{k:{mean,sd}}},"localizationMm":{method:{stack:median}},
                   "pretrainSeconds":{…},"peakBytes":{…},"spearman":{…},"cranium":{…},"colin27":{…}}`;

export const experimentCommand: Command = {
  usage: USAGE,
  async run(args) {
    const { values } = parse(
      args,
      {
        quick: { type: 'boolean', default: false },
        out: { type: 'string' },
        methods: { type: 'string' },
        budgets: { type: 'string' },
        steps: { type: 'string' },
        'finetune-steps': { type: 'string' },
        seeds: { type: 'string' },
        seed: { type: 'string' },
        'no-cranium': { type: 'boolean', default: false },
        'no-colin27': { type: 'boolean', default: false },
        jobs: { type: 'string' },
        queue: { type: 'string' },
        'worker-out': { type: 'string' },
        resume: { type: 'boolean', default: false },
        child: { type: 'boolean', default: false },
        ...BACKEND_OPTIONS,
        ...JSON_OPTION,
      },
      USAGE,
      false,
    );
    const base = values.quick ? QUICK_EXPERIMENT : FULL_EXPERIMENT;
    const methods = values.methods ? values.methods.split(',').map((m) => m.trim()) : [...base.methods];
    for (const m of methods) {
      if (!(ALL_EXPERIMENT_METHODS as readonly string[]).includes(m)) throw new UsageError(`--methods: unknown method "${m}"; known: ${ALL_EXPERIMENT_METHODS.join(', ')}`);
    }
    const seeds = intOption('seeds', values.seeds, base.seeds.length, 1);
    const finetuneSteps = values['finetune-steps'] === undefined ? [base.finetune.frozenSteps, base.finetune.steps] : intListOption('finetune-steps', values['finetune-steps']);
    if (finetuneSteps.length !== 2 || finetuneSteps[1]! < 1) throw new UsageError(`--finetune-steps: two counts, W,N (warm-up with the encoder frozen, then N ≥ 1 full steps), got "${values['finetune-steps']}"`);
    const config: ExperimentConfig = {
      ...base,
      seed: intOption('seed', values.seed, base.seed, 0),
      methods: methods as ExperimentMethod[],
      budgets: values.budgets ? intListOption('budgets', values.budgets) : base.budgets,
      seeds: Array.from({ length: seeds }, (_, n) => n + 1),
      pretrain: { ...base.pretrain, steps: intOption('steps', values.steps, base.pretrain.steps, 1) },
      finetune: { ...base.finetune, frozenSteps: finetuneSteps[0]!, steps: finetuneSteps[1]! },
      real: base.real.filter((n) => !(n === 'cranium' ? values['no-cranium'] : values['no-colin27'])),
    };
    if (config.budgets.some((k) => k < 1)) throw new UsageError('--budgets: each budget must be ≥ 1 annotated slice');
    const quiet = values.json;
    const log = (m: string) => {
      if (!quiet || values.child) process.stderr.write(`${m}\n`);
    };
    const jobs = intOption('jobs', values.jobs, 1, 1);
    const out = userPath(values.out ?? 'experiment-out');
    const store = new ExperimentStore(out, config);
    const done = store.count();
    if (done > 0 && !values.resume && !values.child) {
      throw new UsageError(`${store.dir} holds ${done} finished units of this configuration: add --resume to continue that run, or remove the folder to start over`);
    }
    if (values['worker-out'] !== undefined && !values.queue) throw new UsageError('--worker-out is the queue workers\' shared folder: it needs --queue');
    let result: ExperimentResult;
    if (jobs > 1 && config.methods.length > 1 && !values.child) {
      const t0 = performance.now();
      const passOn = args.filter((a, i) => !['--json', '--child'].includes(a) && a !== '--jobs' && args[i - 1] !== '--jobs' && a !== '--methods' && args[i - 1] !== '--methods');
      // N processes share the cores: unless --threads says otherwise, each gets its share.
      const threads = values.threads === undefined ? ['--threads', String(Math.max(1, Math.floor(nativeThreads() / jobs)))] : [];
      const parts = await inParallel(config.methods, jobs, (m) => runChild([...passOn, ...threads, '--methods', m, '--child'], m, log));
      result = mergeResults(config, parts, (performance.now() - t0) / 1000);
    } else if (values.queue) {
      if (jobs > 1) throw new UsageError('--jobs and --queue: with a queue the workers are the parallelism (`tomosort worker` on each machine)');
      const t0 = performance.now();
      const bar = progressBar('experiment', !quiet && Boolean(process.stderr.isTTY));
      await submitGrid(values.queue, config, out, {
        ...(values['worker-out'] ? { workerOut: userPath(values['worker-out']) } : {}),
        onNotice: (m) => process.stderr.write(`\nexperiment: ${m}\n`),
        onProgress: (p) => bar.update(p.completed + p.failed, p.total, `jobs: ${p.running} running${p.failed ? `, ${p.failed} failed` : ''}`),
      });
      bar.done('all jobs finished');
      // Every unit is in the store now: this pass only reads them (a missing one is an error).
      const backend = await startBackend(values, true);
      const readOnly = new ExperimentStore(out, config, { readOnly: true });
      result = { ...(await runWithCases(config, backend.label, () => {}, readOnly)), seconds: (performance.now() - t0) / 1000 };
    } else {
      const backend = await startBackend(values, quiet || values.child);
      result = await runWithCases(config, backend.label, log, store);
    }
    if (values.child) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return 0;
    }
    await writeReport(result, args, values.out, values.json);
    return 0;
  },
};

/** One method of the experiment in its own process (same tsx / node and script), its log prefixed. */
function runChild(args: readonly string[], tag: string, log: (m: string) => void): Promise<ExperimentResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'experiment', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().split('\n').filter(Boolean)) log(`[${tag}] ${line}`);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new CliError(`experiment for ${tag} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`));
      else resolve(JSON.parse(out) as ExperimentResult);
    });
  });
}

async function writeReport(result: ExperimentResult, args: readonly string[], outOption: string | undefined, jsonOut: boolean): Promise<void> {
  const out = userPath(outOption ?? 'experiment-out');
  mkdirSync(out, { recursive: true });
  const images: Record<string, string> = {};
  for (const [name, svg] of Object.entries(experimentPlots(result))) {
    writeFileAtomic(join(out, `${name}.png`), await svgToPng(svg));
    images[name] = `${name}.png`;
  }
  const command = `pnpm tomosort experiment ${args.filter((a) => a !== '--json' && a !== '--child').join(' ')}`.trim();
  writeFileAtomic(join(out, 'report.md'), experimentMarkdown(result, command, codeCommit(), images));
  const json = experimentJson(result);
  writeFileAtomic(join(out, 'result.json'), `${JSON.stringify(json, null, 2)}\n`);
  if (jsonOut) process.stdout.write(`${JSON.stringify(json)}\n`);
  else process.stdout.write(`report written to ${relative(process.cwd(), join(out, 'report.md')) || join(out, 'report.md')} (${Object.keys(images).length} plots, result.json)\n`);
}
