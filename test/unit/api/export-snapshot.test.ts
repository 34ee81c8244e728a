/**
 * The names each entry point exports (runtime values and type-only names) are
 * a committed list, test/unit/api/exports.txt: adding, removing or turning a
 * type into a value fails here until the list is rewritten on purpose with
 * `npm run api:snapshot` and the diff reviewed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ENTRY_POINTS, exportLines, parseSnapshot, SNAPSHOT_FILE } from '../../support/export-names.js';
import { repoRoot } from '../../support/repo-root.js';

describe('export snapshot', () => {
  const root = repoRoot();
  const committed = parseSnapshot(readFileSync(join(root, SNAPSHOT_FILE), 'utf8'));
  let actualLines: Promise<Map<string, string[]>> | undefined;

  it('lists exactly the entry points of package.json exports', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const fromPackage = Object.keys(pkg.exports)
      .filter((key) => key !== './package.json')
      .map((key) => (key === '.' ? 'presence-b2b' : `presence-b2b/${key.slice(2)}`));
    assert.deepEqual(fromPackage.sort(), ENTRY_POINTS.map((e) => e.name).sort());
    assert.deepEqual([...committed.keys()].sort(), ENTRY_POINTS.map((e) => e.name).sort());
  });

  for (const entry of ENTRY_POINTS) {
    it(`${entry.name} exports what ${SNAPSHOT_FILE} lists (npm run api:snapshot rewrites it)`, async () => {
      actualLines ??= exportLines(root);
      const actual = (await actualLines).get(entry.name) ?? [];
      const expected = committed.get(entry.name) ?? [];
      const added = actual.filter((line) => !expected.includes(line));
      const removed = expected.filter((line) => !actual.includes(line));
      assert.deepEqual({ added, removed }, { added: [], removed: [] });
    });
  }
});
