import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteSubscriptionStore } from '../../../src/store/sqlite-store.js';
import { StoreError } from '../../../src/store/store-error.js';
import type { SubscriptionStore } from '../../../src/store/subscription-store.js';
import { apiSubscription, defineStoreSuite, dialog } from '../../support/store-suite.js';

/**
 * The files as a crash would leave them: the database and its write-ahead
 * log copied to a fresh directory. (Reopening the same path in the same
 * process is not possible: libsql 0.5 releases a connection that prepared
 * statements only when they are garbage-collected, and the store holds an
 * exclusive lock while open; a new process opens it at once.)
 */
function crashImage(file: string, into: string): string {
  const copy = join(into, 'copy.db');
  copyFileSync(file, copy);
  if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
  return copy;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'pb2b-store-'));
}

defineStoreSuite('sqlite', async () => {
  const dir = tempDir();
  let file = join(dir, 'store.db');
  const opened: SubscriptionStore[] = [SqliteSubscriptionStore.open(file)];
  return {
    store: opened[0]!,
    async reopen() {
      for (const s of opened) await s.close();
      file = crashImage(file, mkdtempSync(join(dir, 'again-')));
      const again = SqliteSubscriptionStore.open(file);
      opened.push(again);
      return again;
    },
    async cleanup() {
      for (const s of opened) await s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('sqlite: a resolved change is on disk without close (crash image)', async () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'store.db');
    const store = SqliteSubscriptionStore.open(file);
    await store.createQueue({ name: 'default', eventIdHighWater: 100_000 });
    await store.createApiSubscription(apiSubscription('kept'));
    await store.writeDialogs({ upserts: [dialog('sip:alice@example.com')] });
    const copy = SqliteSubscriptionStore.open(crashImage(file, mkdtempSync(join(dir, 'crash-'))));
    const loaded = await copy.load();
    assert.deepEqual(
      loaded.apiSubscriptions.map((s) => s.id),
      ['kept'],
    );
    assert.deepEqual(loaded.queues, [{ name: 'default', eventIdHighWater: 100_000 }]);
    assert.equal(loaded.dialogs.length, 1);
    await copy.close();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: a second store on the same file is refused (STORE_ERR_LOCKED), the first goes on', async () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'store.db');
    const first = SqliteSubscriptionStore.open(file);
    await first.createApiSubscription(apiSubscription('a'));
    assert.throws(
      () => SqliteSubscriptionStore.open(file),
      (error: unknown) => error instanceof StoreError && error.code === 'STORE_ERR_LOCKED' && error.message.includes(file) && error.file === file,
    );
    await first.createApiSubscription(apiSubscription('b'));
    assert.equal((await first.load()).apiSubscriptions.length, 2);
    await first.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: the changes of one turn share one transaction (group commit)', async () => {
  const dir = tempDir();
  try {
    const store = SqliteSubscriptionStore.open(join(dir, 'store.db'));
    const before = store.stats.transactions;
    const writes = Array.from({ length: 200 }, (_, i) => store.createApiSubscription(apiSubscription(`s${i}`)));
    await Promise.all(writes);
    assert.equal(store.stats.transactions - before, 1);
    assert.equal(store.stats.changes, 200);
    assert.equal((await store.load()).apiSubscriptions.length, 200);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
