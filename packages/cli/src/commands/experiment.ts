import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from '../cli';
import { startBackend } from '../backendOption';
import { userPath } from '../env';
import { UsageError } from '../errors';
import { writeFileAtomic } from '../files';
import { EXPERIMENT_METHODS, axialCase, runExperiment } from '../experiment/run';
import type { ExperimentConfig, ExperimentMethod } from '../experiment/run';
import { experimentJson, experimentMarkdown, experimentPlots } from '../experiment/report';
import { svgToPng } from '../experiment/plot';
import { JSON_OPTION, intListOption, intOption, parse } from '../parse';
import { loadSeriesSpec } from '../seriesSource';

/** The full comparison: as long as it needs on a CPU (about an hour on 2 cores). */
export const FULL_EXPERIMENT: ExperimentConfig = {
  seed: 0,
  model: 'small',
  size: 32,
  window: { center: 40, width: 400 },
  methods: EXPERIMENT_METHODS,
  pretrain: { subjects: 24, steps: 400, slicesPerStep: 32, learningRate: 3e-3 },
  finetune: { frozenSteps: 60, steps: 60, batch: 8, learningRate: 3e-3 },
  budgets: [2, 5, 10, 20],
  decoderSeeds: [1, 2, 3],
  phantomSubjects: 3,
  localization: { subjects: 6, stacks: [1, 3, 10], stacksPerPair: 4, probeSteps: 100 },
  cranium: true,
};

/** A few minutes here: fewer steps, one decoder seed, one subject. Same code path. */
export const QUICK_EXPERIMENT: ExperimentConfig = {
  ...FULL_EXPERIMENT,
  pretrain: { ...FULL_EXPERIMENT.pretrain, subjects: 12, steps: 60 },
  finetune: { ...FULL_EXPERIMENT.finetune, frozenSteps: 20, steps: 20 },
  decoderSeeds: [1],
  phantomSubjects: 1,
  localization: { ...FULL_EXPERIMENT.localization, subjects: 3, stacksPerPair: 3, probeSteps: 30 },
};

const USAGE = `usage: pnpm tomosort experiment [--quick] [--json] [--out DIR] [options]

Pre-trains scratch (none), SimCLR, Barlow Twins and SortingLoss on the phantom cohort (the same
encoder, input size and slices per step), then for each: fine-tunes on 2, 5, 10 and 20 annotated
slices of held-out subjects (Dice on the other slices, mean ± sd over decoder seeds), scores
held-out subjects (Spearman ρ) and localizes stacks of 1, 3 and 10 slices in held-out references;
the same on the sample head CT. Writes report.md and PNG plots to --out; reproducible from --seed.

  --quick          a few minutes (fewer steps, one seed, one subject); default: the full run
  --out DIR        report folder (default experiment-out)
  --methods LIST   subset of scratch,simclr,barlow,sorting
  --budgets LIST   annotated slices per subject (default 2,5,10,20)
  --steps N        pre-training steps;  --seeds N  decoder seeds;  --seed N  data and init seed
  --no-cranium     skip the head CT
  --backend B      wasm (default) | cpu | webgpu
  --json           print {"dice":{method:{k:{mean,sd}}},"localizationMm":{method:{stack:median}},
                   "pretrainSeconds":{…},"peakBytes":{…},"spearman":{…},"cranium":{…}}`;

export const experimentCommand: Command = {
  summary: 'compare pre-training methods: sparse-slice Dice, localization, time and memory (report + plots)',
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
        seeds: { type: 'string' },
        seed: { type: 'string' },
        'no-cranium': { type: 'boolean', default: false },
        backend: { type: 'string' },
        ...JSON_OPTION,
      },
      USAGE,
      false,
    );
    const base = values.quick ? QUICK_EXPERIMENT : FULL_EXPERIMENT;
    const methods = values.methods ? values.methods.split(',').map((m) => m.trim()) : [...base.methods];
    for (const m of methods) {
      if (!(EXPERIMENT_METHODS as readonly string[]).includes(m)) throw new UsageError(`--methods: unknown method "${m}"; known: ${EXPERIMENT_METHODS.join(', ')}`);
    }
    const seeds = intOption('seeds', values.seeds, base.decoderSeeds.length, 1);
    const config: ExperimentConfig = {
      ...base,
      seed: intOption('seed', values.seed, base.seed, 0),
      methods: methods as ExperimentMethod[],
      budgets: values.budgets ? intListOption('budgets', values.budgets) : base.budgets,
      decoderSeeds: Array.from({ length: seeds }, (_, n) => n + 1),
      pretrain: { ...base.pretrain, steps: intOption('steps', values.steps, base.pretrain.steps, 1) },
      cranium: base.cranium && !values['no-cranium'],
    };
    if (config.budgets.some((k) => k < 1)) throw new UsageError('--budgets: each budget must be ≥ 1 annotated slice');
    const quiet = values.json;
    const backend = await startBackend(values.backend, quiet);
    const log = (m: string) => {
      if (!quiet) process.stderr.write(`${m}\n`);
    };
    let cranium;
    if (config.cranium) {
      const loaded = await loadSeriesSpec('sample:cranium', {
        seed: 0,
        pacs: () => {
          throw new UsageError('the experiment needs no PACS');
        },
      });
      const sample = loaded.sampleLabels!;
      cranium = axialCase(loaded.volume, sample.labels, sample.classes);
    }
    const result = await runExperiment(config, backend.label, log, cranium);

    const out = userPath(values.out ?? 'experiment-out');
    mkdirSync(out, { recursive: true });
    const images: Record<string, string> = {};
    for (const [name, svg] of Object.entries(experimentPlots(result))) {
      writeFileAtomic(join(out, `${name}.png`), await svgToPng(svg));
      images[name] = `${name}.png`;
    }
    const command = `pnpm tomosort experiment ${args.filter((a) => a !== '--json').join(' ')}`.trim();
    writeFileAtomic(join(out, 'report.md'), experimentMarkdown(result, command, images));
    const json = experimentJson(result);
    writeFileAtomic(join(out, 'result.json'), `${JSON.stringify(json, null, 2)}\n`);
    if (values.json) process.stdout.write(`${JSON.stringify(json)}\n`);
    else process.stdout.write(`report written to ${relative(process.cwd(), join(out, 'report.md')) || join(out, 'report.md')} (${Object.keys(images).length} plots, result.json)\n`);
    return 0;
  },
};
