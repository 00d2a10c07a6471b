import { UsageError } from './errors';
import { benchCommand } from './commands/bench';
import { experimentCommand } from './commands/experiment';
import { finetuneCommand } from './commands/finetune';
import { importCommand } from './commands/import';
import { lsCommand } from './commands/ls';
import { pacsCommand } from './commands/pacs';
import { localizeCommand } from './commands/localize';
import { predictCommand } from './commands/predict';
import { prepareCommand } from './commands/prepare';
import { pretrainCommand } from './commands/pretrain';
import { viewerCommand } from './commands/viewer';
import { workerCommand } from './commands/worker';

/** A subcommand: parses its own arguments, returns the exit code. */
export interface Command {
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[]): Promise<number>;
}

export const COMMANDS: Readonly<Record<string, Command>> = {
  pacs: pacsCommand,
  import: importCommand,
  ls: lsCommand,
  prepare: prepareCommand,
  pretrain: pretrainCommand,
  finetune: finetuneCommand,
  predict: predictCommand,
  localize: localizeCommand,
  experiment: experimentCommand,
  viewer: viewerCommand,
  worker: workerCommand,
  bench: benchCommand,
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
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${name}"\n\n${helpText()}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}
