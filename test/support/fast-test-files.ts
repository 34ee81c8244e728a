/**
 * The one list of the fast test folders: `npm run test:fast` and `npm test` run their files in one
 * process through fast-suite.ts, and README's table of test scripts is checked against it
 * (test/unit/docs/readme-test-scripts.test.ts). No side effect on import, unlike fast-suite.ts.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The folders under dist/test whose files run in one process. */
export const FAST_FOLDERS: readonly string[] = ['unit', 'wire', 'conformance'];

/** Every `*.test.js` under the fast folders of `testRoot` (dist/test), sorted. */
export function fastTestFiles(testRoot: string): string[] {
  return testFilesUnder(testRoot, FAST_FOLDERS);
}

/** Every `*.test.js` under `testRoot` (dist/test) outside the fast folders, sorted: the files `npm test` runs one process each. */
export function heavyTestFiles(testRoot: string): string[] {
  const folders = readdirSync(testRoot, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !FAST_FOLDERS.includes(e.name))
    .map((e) => e.name);
  return testFilesUnder(testRoot, folders);
}

function testFilesUnder(testRoot: string, folders: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.test.js')) files.push(path);
    }
  };
  for (const folder of folders) walk(join(testRoot, folder));
  return files.sort();
}
