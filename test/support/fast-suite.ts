/**
 * The unit, wire and conformance test files as ONE file of `npm test`: node --test gives
 * each file it is named a process of its own, and for these ~150 short files starting a
 * process and loading the modules again was most of their time (about 130 s of a
 * ~700 s run, against ~30 s in one process). `npm run test:fast` runs the same files
 * the same way (one-process-runner.js) and `npm run test:unit` still runs each unit file
 * alone, so a test that depends on running alone is still caught there.
 *
 *   node --test dist/test/support/fast-suite.js     (what `npm test` does)
 *   node dist/test/support/fast-suite.js            (the same run, without the runner)
 *
 * Named so that `find dist/test -name '*.test.js'` does not list it: it is not a test
 * file of its own, it only imports them. A file that fails to load becomes a failing
 * test named after it (node:test reports it and the run exits non-zero), and the other
 * files still run.
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The folders under dist/test that `npm run test:fast` runs: keep the two lists the same. */
const FAST_FOLDERS = ['unit', 'wire', 'conformance'];

/** Every `*.test.js` under the fast folders of `testRoot`, sorted. */
function fastTestFiles(testRoot: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.test.js')) files.push(path);
    }
  };
  for (const folder of FAST_FOLDERS) walk(join(testRoot, folder));
  return files.sort();
}

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
