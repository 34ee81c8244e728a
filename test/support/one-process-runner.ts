/**
 * Runs many test files in this one process (`npm run test:fast`): each file is
 * imported in turn and its tests join the same run. Starting a process and
 * loading the modules again for each of ~50 files was two thirds of the
 * time of the fast loop; `npm test` still runs every file in a process of its
 * own, so a test that depends on running alone is caught there.
 *
 *   node dist/test/support/one-process-runner.js dist/test/unit/a.test.js …
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

for (const file of process.argv.slice(2)) await import(pathToFileURL(resolve(file)).href);
