/** README's table of test scripts says exactly which folders under test/ each npm script runs. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FAST_FOLDERS } from '../../support/fast-test-files.js';
import { repoRoot } from '../../support/repo-root.js';

test("README's test-script table matches package.json", () => {
  const root = repoRoot();
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const suites = readdirSync(join(root, 'test'), { withFileTypes: true })
    .filter((e) => e.isDirectory() && !['fixtures', 'support'].includes(e.name))
    .map((e) => e.name)
    .sort();
  const rows = [...readme.matchAll(/^\| `npm (?:run )?(test(?::[a-z]+)?)` \| ([^|]+) \|/gm)];
  assert.deepEqual(rows.map((r) => r[1]).sort(), ['test', 'test:fast', 'test:interop', 'test:unit']);
  for (const [, name, cell] of rows) {
    const documented = [...cell!.matchAll(/`([a-z]+)`/g)].map((m) => m[1]!).sort();
    const script = scripts[name!] ?? '';
    // `find dist/test/unit dist/test/wire …` names its folders; `find dist/test` is all of them, and so is test-lanes.js alone;
    // fast-suite.js runs the fast folders (FAST_FOLDERS, its one list).
    const folders = [...script.matchAll(/dist\/test\/([a-z]+)/g)].map((m) => m[1]!).filter((f) => suites.includes(f));
    if (script.includes('dist/test/support/fast-suite.js')) folders.push(...FAST_FOLDERS);
    // test-lanes.js without files takes the fast suite and every other file under dist/test: all of them.
    const everything = /find dist\/test /.test(script) || /test-lanes\.js$/.test(script.trim());
    const runs = everything ? suites : [...new Set(folders)].sort();
    assert.deepEqual(documented, runs, name);
  }
});
