/**
 * The unit, wire and conformance test files as ONE file of `npm test`: node --test gives
 * each file it is named a process of its own, and for these ~150 short files starting a
 * process and loading the modules again was most of their time (about 130 s of a
 * ~700 s run, against ~30 s in one process). `npm run test:fast` runs this file too
 * (without node --test's runner), so the folders are listed once (fast-test-files.ts);
 * `npm run test:unit` still runs each unit file alone, so a test that depends on running
 * alone is still caught there.
 *
 *   node --test dist/test/support/fast-suite.js     (what `npm test` does)
 *   node dist/test/support/fast-suite.js            (what `npm run test:fast` does)
 *
 * Named so that `find dist/test -name '*.test.js'` does not list it: it is not a test
 * file of its own, it only imports them. A file that fails to load becomes a failing
 * test named after it (node:test reports it and the run exits non-zero), and the other
 * files still run.
 */
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fastTestFiles } from './fast-test-files.js';

const testRoot = join(fileURLToPath(new URL('.', import.meta.url)), '..');
for (const file of fastTestFiles(testRoot)) {
  try {
    await import(pathToFileURL(file).href);
  } catch (error) {
    const name = relative(join(testRoot, '..', '..'), file);
    test(`${name} loads`, () => {
      throw error;
    });
  }
}
