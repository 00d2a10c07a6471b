export { runCli, COMMANDS, helpText } from './cli';
export type { Command, CommandEntry } from './cli';
export { CliError, UsageError } from './errors';
export { prepareImport } from './importSources';
export type { PreparedSeries, PrepareOptions } from './importSources';
