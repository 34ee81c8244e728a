/**
 * Replays every regression fixture the fuzzer wrote
 * (test/fixtures/fuzz-regressions/<target>/) through its target, in a
 * watched worker like the fuzzer's: none may crash or hang any more.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fixtureFiles, fixturePath } from '../../../fuzz/engine/paths.js';
import { loadTargets } from '../../../fuzz/engine/registry.js';
import { replayInputs } from '../../../fuzz/engine/runner.js';

const ROOT = fixturePath('fuzz-regressions');
/** The fuzzer's limit (CPU time, so a busy machine does not matter); a target may set a tighter one. */
const TIMEOUT_MS = 1000;

const directories = existsSync(ROOT) ? readdirSync(ROOT).filter((name) => statSync(join(ROOT, name)).isDirectory()).sort() : [];
const registered = await loadTargets();

describe('fuzz regression fixtures', () => {
  test('every fixture directory names a fuzz target', () => {
    const names = new Set(registered.map((r) => r.target.name));
    assert.deepEqual(
      directories.filter((d) => !names.has(d)),
      [],
    );
  });

  for (const name of directories) {
    const entry = registered.find((r) => r.target.name === name);
    if (entry === undefined) continue;
    const files = fixtureFiles(join(ROOT, name));
    test(`${name}: ${files.length} fixtures, no crash, no hang`, async () => {
      const results = await replayInputs({ target: entry.target, moduleUrl: entry.moduleUrl, inputs: files.map((f) => f.bytes), timeoutMs: TIMEOUT_MS });
      assert.equal(results.length, files.length);
      const failures = results
        .filter((r) => r.outcome === 'crash' || r.outcome === 'hang')
        .map((r) => `${files[r.index]!.name}: ${r.outcome}${r.error !== undefined ? ` ${r.error.name}: ${r.error.message.slice(0, 300)}` : ''}`);
      assert.deepEqual(failures, []);
    });
  }
});
