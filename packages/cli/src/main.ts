#!/usr/bin/env node
import { runCli } from './cli';
import { CliError } from './errors';
import { isKnownError } from './knownErrors';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Known failures print one line; anything else keeps its stack for a bug report.
    const text = isKnownError(e) ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
    process.stderr.write(`tomosort: ${text}\n`);
    process.exitCode = e instanceof CliError ? e.exitCode : 1;
  },
);
