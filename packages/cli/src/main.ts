#!/usr/bin/env node
import { isDicomError } from '@tomosort/dicom';
import { runCli } from './cli';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Known failures print one line; anything else keeps its stack for a bug report.
    const known = e instanceof Error && (e.name === 'CliError' || isDicomError(e) || 'source' in e || 'url' in e || 'file' in e);
    process.stderr.write(`tomosort: ${known ? (e as Error).message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = e instanceof Error && 'exitCode' in e && typeof e.exitCode === 'number' ? e.exitCode : 1;
  },
);
