/**
 * Every way a store file can be unusable: the store refuses it with a
 * StoreError whose code is stable and whose message names the file and the
 * reason, and the file is left byte for byte as it was.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'libsql';
import { SCHEMA_VERSION } from '../../../src/store/sqlite-schema.js';
import { SqliteSubscriptionStore } from '../../../src/store/sqlite-store.js';
import { StoreError, type StoreErrorCode } from '../../../src/store/store-error.js';
import { apiSubscription, dialog } from '../../support/store-suite.js';

let dir: string;

function digest(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Opening `file` fails with `code`, a message naming the file and matching `reason`, and leaves it unchanged. */
function refused(file: string, code: StoreErrorCode, reason: RegExp): void {
  const beforeDigest = existsSync(file) && !file.endsWith('/') ? safeDigest(file) : undefined;
  assert.throws(
    () => SqliteSubscriptionStore.open(file),
    (error: unknown) => {
      assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
      assert.equal(error.code, code, error.message);
      assert.ok(error.message.includes(file), `the message names the file: ${error.message}`);
      assert.match(error.message, reason);
      assert.equal(error.file, file);
      return true;
    },
  );
  if (beforeDigest !== undefined) assert.equal(safeDigest(file), beforeDigest, 'the file is left untouched');
}

function safeDigest(file: string): string | undefined {
  try {
    return digest(file);
  } catch {
    return undefined; // a directory
  }
}

/**
 * A valid store with some content, written by the store and copied (with its
 * log) to `name`, its log then checkpointed into it: a closed store's file is
 * still held by this process (libsql 0.5 frees the connection with its
 * statements, at garbage collection), the copy is not.
 */
async function validStore(name: string): Promise<string> {
  const source = join(dir, `${name}.source`);
  const store = SqliteSubscriptionStore.open(source);
  for (let i = 0; i < 300; i++) await store.createApiSubscription(apiSubscription(`sub-${i}`, { record: `sip:user-${i}@example.com` }));
  await store.writeDialogs({ upserts: Array.from({ length: 300 }, (_, i) => dialog(`sip:user-${i}@example.com`)) });
  await store.close();
  const file = join(dir, name);
  copyFileSync(source, file);
  if (existsSync(`${source}-wal`)) copyFileSync(`${source}-wal`, `${file}-wal`);
  rawExec(file, 'PRAGMA wal_checkpoint(TRUNCATE)');
  return file;
}

/**
 * Another SQLite connection on `file` (the test's own: plain libsql, no
 * statement prepared, so that close() releases it at once).
 */
function rawExec(file: string, sql: string): void {
  const db = new Database(file);
  db.exec(sql);
  db.close();
}

describe('sqlite store: unusable files', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pb2b-badfile-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('a text file: STORE_ERR_CORRUPT, not a SQLite database', () => {
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'these are my notes, not a database\n'.repeat(10));
    refused(file, 'STORE_ERR_CORRUPT', /not a SQLite database \(it starts with "these are my not"\)/);
    assert.equal(existsSync(`${file}-wal`), false);
  });

  test('a file shorter than a SQLite header: STORE_ERR_CORRUPT', () => {
    const file = join(dir, 'short.db');
    writeFileSync(file, 'SQLite format 3\0');
    refused(file, 'STORE_ERR_CORRUPT', /only 16 bytes long/);
  });

  test('a damaged database (pages overwritten): STORE_ERR_CORRUPT', async () => {
    const file = await validStore('damaged.db');
    const fd = openSync(file, 'r+');
    // Keep page 1 (header and schema), scramble pages 2 and 3 (the tables' b-trees).
    writeSync(fd, Buffer.alloc(8192, 0xa5), 0, 8192, 4096);
    closeSync(fd);
    refused(file, 'STORE_ERR_CORRUPT', /damaged/);
  });

  test('a database written by a newer presence-b2b: STORE_ERR_NEWER_SCHEMA', async () => {
    const file = await validStore('newer.db');
    rawExec(file, `UPDATE schema_version SET version = ${SCHEMA_VERSION + 1}`);
    refused(file, 'STORE_ERR_NEWER_SCHEMA', new RegExp(`schema version ${SCHEMA_VERSION + 1} was written by a newer presence-b2b \\(this one reads up to ${SCHEMA_VERSION}\\)`));
  });

  test('a SQLite database of another application: STORE_ERR_FOREIGN', () => {
    const file = join(dir, 'other.db');
    rawExec(file, 'CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL); INSERT INTO invoices (amount) VALUES (12.5);');
    refused(file, 'STORE_ERR_FOREIGN', /not a presence-b2b store \(tables: invoices\)/);
    const other = join(dir, 'other-app-id.db');
    rawExec(other, 'PRAGMA application_id = 1234;');
    refused(other, 'STORE_ERR_FOREIGN', /another application \(application_id 1234\)/);
  });

  test('a directory in place of the file: STORE_ERR_OPEN', () => {
    const file = join(dir, 'a-directory.db');
    mkdirSync(file);
    refused(file, 'STORE_ERR_OPEN', /is a directory/);
  });

  test('a missing directory: STORE_ERR_OPEN, and nothing is created', () => {
    const file = join(dir, 'no', 'such', 'dir', 'store.db');
    refused(file, 'STORE_ERR_OPEN', /cannot be created \(directory .*no\/such\/dir does not exist\)/);
    assert.equal(existsSync(join(dir, 'no')), false);
  });

  test('a path through a regular file: STORE_ERR_OPEN', () => {
    const plain = join(dir, 'plain-file');
    writeFileSync(plain, 'x');
    refused(join(plain, 'store.db'), 'STORE_ERR_OPEN', /is not a directory/);
  });

  test('a relative path is resolved against the working directory and named in full', () => {
    assert.throws(
      () => SqliteSubscriptionStore.open('no-such-dir-for-pb2b/store.db'),
      (error: unknown) => error instanceof StoreError && error.code === 'STORE_ERR_OPEN' && error.message.includes(join(process.cwd(), 'no-such-dir-for-pb2b', 'store.db')),
    );
  });

  test('an empty file becomes a new store', async () => {
    const file = join(dir, 'empty.db');
    writeFileSync(file, '');
    const store = SqliteSubscriptionStore.open(file);
    assert.deepEqual(await store.load(), { apiSubscriptions: [], queues: [], dialogs: [] });
    await store.close();
  });
});
