/**
 * An unusable store file stops `presence-b2b start` with status 2 and one
 * `store error:` line naming the file and the reason, before anything binds,
 * and leaves the file as it was.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'libsql';
import { stringify } from 'yaml';
import { SQLITE_APPLICATION_ID } from '../../src/store/sqlite-schema.js';
import { DaemonProcess, runCli, testConfig } from './support/daemon-process.js';

const dir = mkdtempSync(join(tmpdir(), 'pb2b-store-errors-'));
const running: DaemonProcess[] = [];
after(() => {
  for (const d of running) d.kill();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function configFile(config: Record<string, unknown>): string {
  const file = join(dir, `c${++n}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

function digest(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

async function refusedAtStart(config: Record<string, unknown>, pattern: RegExp, cwd?: string): Promise<void> {
  const result = await runCli(['start', '-c', configFile(config)], { timeoutMs: 10_000, ...(cwd !== undefined ? { cwd } : {}) });
  assert.equal(result.code, 2, `${result.stderr}\n${result.stdout}`);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stdout, /listening/, 'nothing may bind');
}

describe('start: an unusable store exits 2 naming the file, before anything binds', () => {
  test('a file that is not a SQLite database, left untouched', async () => {
    const file = join(dir, 'notes.db');
    writeFileSync(file, 'not a database at all, just some text that happens to be here\n');
    const before = digest(file);
    await refusedAtStart(testConfig({ store: { type: 'sqlite', path: file } }), new RegExp(`^store error: store ${file}: not a SQLite database`, 'm'));
    assert.equal(digest(file), before);
  });

  test('a store written by a newer presence-b2b, left untouched', async () => {
    const file = join(dir, 'newer.db');
    const db = new Database(file);
    db.exec(`PRAGMA application_id = ${SQLITE_APPLICATION_ID}; CREATE TABLE schema_version (version BIGINT NOT NULL); INSERT INTO schema_version VALUES (99);`);
    db.close();
    const before = digest(file);
    await refusedAtStart(testConfig({ store: { path: file } }), /^store error: store .*newer\.db: schema version 99 was written by a newer presence-b2b/m);
    assert.equal(digest(file), before);
  });

  test('a directory that does not exist', async () => {
    await refusedAtStart(testConfig({ store: { type: 'sqlite', path: join(dir, 'missing', 'state.db') } }), /^store error: store .*missing\/state\.db: cannot be created \(directory .*missing does not exist\)$/m);
  });

  test('the default path is relative to the working directory', async () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    mkdirSync(join(cwd, 'presence-b2b.db'));
    await refusedAtStart(testConfig(), new RegExp(`^store error: store ${join(cwd, 'presence-b2b.db')}: is a directory, not a file$`, 'm'), cwd);
  });

  test('a second daemon on the same store file', async () => {
    const file = join(dir, 'shared.db');
    const first = await DaemonProcess.start(testConfig({ store: { path: file } }));
    running.push(first);
    await refusedAtStart(testConfig({ store: { path: file } }), /^store error: store .*shared\.db: in use by another process/m);
    assert.equal((await fetch(`${first.httpBase}/healthz`)).status, 200, 'the first one goes on');
    assert.equal((await first.stop()).code, 0);
  });
});
