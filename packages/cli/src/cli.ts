import { UsageError } from './errors';

/** A subcommand: parses its own arguments, returns the exit code. */
export interface Command {
  readonly usage: string;
  run(args: readonly string[]): Promise<number>;
}

/**
 * The subcommands. Each loads only when run: a command pulls in what it needs (tfjs and the
 * native kernels for training, the queue for a worker), so `ls` or `worker` start in a fraction
 * of the time `pretrain` takes to import.
 */
export interface CommandEntry {
  readonly summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  pacs: { summary: 'start, stop or check the local Orthanc (pacs up | down | status)', load: async () => (await import('./commands/pacs')).pacsCommand },
  import: { summary: 'validate and upload DICOM, NIfTI, .inv3 or a sample to the PACS', load: async () => (await import('./commands/import')).importCommand },
  ls: { summary: 'list the studies and series in the PACS (incomplete imports marked)', load: async () => (await import('./commands/ls')).lsCommand },
  prepare: { summary: 'prepare series for pre-training into a shard store, in this process or on a job queue', load: async () => (await import('./commands/prepare')).prepareCommand },
  pretrain: { summary: 'self-supervised pre-training (SortingLoss, SimCLR, Barlow Twins)', load: async () => (await import('./commands/pretrain')).pretrainCommand },
  finetune: { summary: 'fine-tune an encoder + U-Net on a few annotated slices', load: async () => (await import('./commands/finetune')).finetuneCommand },
  predict: { summary: 'segment every slice of a series and write a DICOM SEG (file and/or PACS)', load: async () => (await import('./commands/predict')).predictCommand },
  localize: { summary: 'check a series’ slice order, or place it inside a reference volume, from slice scores', load: async () => (await import('./commands/localize')).localizeCommand },
  experiment: { summary: 'compare pre-training methods: sparse-slice Dice, localization, time and memory (report + plots)', load: async () => (await import('./commands/experiment')).experimentCommand },
  viewer: { summary: 'serve OHIF with the Sparse annotation mode, the model store and a DICOMweb proxy', load: async () => (await import('./commands/viewer')).viewerCommand },
  worker: { summary: 'run queued jobs (series preparation, experiment grids) for submitters on any machine', load: async () => (await import('./commands/worker')).workerCommand },
  bench: { summary: 'benchmarks that print a table and write JSON (bench io | bench prepare | bench pretrain | bench viewer | bench worker)', load: async () => (await import('./commands/bench')).benchCommand },
};

export function helpText(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return [
    'usage: pnpm tomosort <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'Commands that talk to a PACS take --pacs URL (default: $TOMOSORT_PACS_URL, else the Orthanc started by `pacs up`).',
    'Credentials come from $TOMOSORT_PACS_USER / $TOMOSORT_PACS_PASSWORD or $TOMOSORT_PACS_TOKEN.',
    "Run 'pnpm tomosort <command> --help' for a command's options.",
  ].join('\n');
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${helpText()}\n`);
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (!entry) throw new UsageError(`unknown command "${name}"\n\n${helpText()}`);
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}
