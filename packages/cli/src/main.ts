#!/usr/bin/env node
import { runCli } from './cli';
import { CliError } from './errors';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  async (e: unknown) => {
    // Known failures print one line; anything else keeps its stack for a bug report. (The error
    // classes of every package load only now, so a command starts with just what it needs.)
    const { isKnownError } = await import('./knownErrors');
    const text = isKnownError(e) ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
    process.stderr.write(`tomosort: ${text}\n`);
    process.exitCode = e instanceof CliError ? e.exitCode : 1;
  },
);
