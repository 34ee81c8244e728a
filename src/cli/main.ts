#!/usr/bin/env node
import { CommanderError } from 'commander';
import { buildProgram, EXIT_USAGE } from './program.js';

/** Exits with `code` once stdout has been flushed. */
function finish(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

const program = buildProgram({
  env: process.env,
  run: (command) =>
    command().then(
      (code) => finish(code),
      (error: unknown) => {
        process.stderr.write(`presence-b2b: ${error instanceof Error ? error.message : String(error)}\n`);
        finish(1);
      },
    ),
});

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // commander printed the problem (and the help) already; --help and --version end here with 0.
    finish(error.exitCode === 0 ? 0 : EXIT_USAGE);
    return;
  }
  process.stderr.write(`presence-b2b: ${error instanceof Error ? error.message : String(error)}\n`);
  finish(1);
});
