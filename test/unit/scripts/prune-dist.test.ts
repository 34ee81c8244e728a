/**
 * scripts/prune-dist.mjs (run by `npm run build`): compiled files whose
 * TypeScript source is gone leave dist/, so a deleted or moved test never
 * runs from a stale build; everything else (and tsc's build info) stays, so
 * the build remains incremental.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../support/repo-root.js';

test('prune-dist removes the outputs of deleted sources and nothing else', () => {
  const root = mkdtempSync(join(tmpdir(), 'pb2b-prune-'));
  try {
    const touch = (path: string): void => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), '');
    };
    touch('src/kept.ts');
    touch('test/unit/kept.test.ts');
    const kept = ['dist/src/kept.js', 'dist/src/kept.js.map', 'dist/src/kept.d.ts', 'dist/test/unit/kept.test.js', 'dist/.tsbuildinfo'];
    const stale = ['dist/src/gone.js', 'dist/src/gone.js.map', 'dist/src/gone.d.ts', 'dist/test/moved/old.test.js', 'dist/test/moved/old.test.d.ts'];
    for (const path of [...kept, ...stale]) touch(path);

    execFileSync(process.execPath, [join(repoRoot(), 'scripts/prune-dist.mjs'), root]);

    assert.deepEqual(kept.filter((p) => !existsSync(join(root, p))), [], 'kept');
    assert.deepEqual(stale.filter((p) => existsSync(join(root, p))), [], 'removed');
    assert.equal(existsSync(join(root, 'dist/test/moved')), false, 'an emptied folder goes too');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
