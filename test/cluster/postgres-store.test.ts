/**
 * The PostgreSQL store (issue 16) against the same contract suite as the
 * memory and SQLite stores, plus what only it does: refusing foreign and
 * newer databases, the one-daemon lock, the shard count, shard reads and
 * fenced dialog writes. A PostgreSQL server is started for this file
 * (peers/start-postgres.sh, loopback, under /tmp) and each test gets a
 * database of its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { listenForAnnouncements, parseAnnouncement } from '../../src/cluster/subscription-announcements.js';
import { PostgresSubscriptionStore, type SubscriptionAnnouncement } from '../../src/store/postgres-store.js';
import { shardOf, shardOfDialogKey } from '../../src/store/shard-of.js';
import { StoreError } from '../../src/store/store-error.js';
import type { SubscriptionStore } from '../../src/store/subscription-store.js';
import { createDatabase, type RunningEngine, startPostgres } from '../support/engines.js';
import { apiSubscription, defineStoreSuite, dialog } from '../support/store-suite.js';

let server: RunningEngine | undefined;
let databases = 0;

async function freshDatabase(): Promise<string> {
  server ??= await startPostgres();
  return createDatabase(server, `t${++databases}`);
}

/** A LISTEN of its own on pb2b_subscriptions: the payloads heard, in order; `atLeast(n)` waits (bounded) until n were. */
async function hearAnnouncements(url: string): Promise<{ heard: string[]; atLeast(n: number): Promise<void>; end(): Promise<void> }> {
  const heard: string[] = [];
  const listener = postgres(url, { max: 1, onnotice: () => {} });
  await listener.listen('pb2b_subscriptions', (payload) => heard.push(payload));
  return {
    heard,
    async atLeast(n) {
      for (let i = 0; i < 100 && heard.length < n; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    },
    end: () => listener.end(),
  };
}

before(async () => {
  server = await startPostgres();
});

after(async () => {
  await server?.stop();
});

defineStoreSuite('postgres', async () => {
  const url = await freshDatabase();
  const opened: SubscriptionStore[] = [await PostgresSubscriptionStore.open({ url, shards: 16 })];
  return {
    store: opened[0]!,
    async reopen() {
      for (const s of opened) await s.close();
      const again = await PostgresSubscriptionStore.open({ url, shards: 16 });
      opened.push(again);
      return again;
    },
    async cleanup() {
      for (const s of opened) await s.close();
    },
  };
});

async function rejectsWith(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

describe('postgres store: opening', () => {
  test('nothing listening: STORE_ERR_OPEN naming the database, without its password', async () => {
    await rejectsWith(
      PostgresSubscriptionStore.open({ url: 'postgres://pb2b:secret@127.0.0.1:1/none', connectTimeoutSeconds: 2 }),
      'STORE_ERR_OPEN',
      /127\.0\.0\.1:1\/none.*cannot connect/,
    );
    await assert.rejects(PostgresSubscriptionStore.open({ url: 'postgres://pb2b:secret@127.0.0.1:1/none', connectTimeoutSeconds: 2 }), (e: Error) => !e.message.includes('secret'));
  });

  test('a database of another application is refused untouched', async () => {
    const url = await freshDatabase();
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql`CREATE TABLE customers (id INTEGER)`;
    await rejectsWith(PostgresSubscriptionStore.open({ url }), 'STORE_ERR_FOREIGN', /customers/);
    const tables = await sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`;
    assert.deepEqual(
      tables.map((r) => r.table_name),
      ['customers'],
    );
    await sql.end();
  });

  test('a newer schema is refused; a second single node is refused; another shard count is refused', async () => {
    const url = await freshDatabase();
    const first = await PostgresSubscriptionStore.open({ url, shards: 16 });
    await rejectsWith(PostgresSubscriptionStore.open({ url, shards: 16 }), 'STORE_ERR_LOCKED', /in use by another presence-b2b/);
    // Cluster nodes share it.
    const node = await PostgresSubscriptionStore.open({ url, shards: 16, exclusive: false });
    await node.close();
    await rejectsWith(PostgresSubscriptionStore.open({ url, shards: 32, exclusive: false }), 'STORE_ERR_CORRUPT', /16 shards, not 32/);
    await first.close();
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql`UPDATE schema_version SET version = 99`;
    await rejectsWith(PostgresSubscriptionStore.open({ url, shards: 16 }), 'STORE_ERR_NEWER_SCHEMA', /schema version 99/);
    await sql.end();
  });

  test('nodes starting at once migrate once', async () => {
    const url = await freshDatabase();
    const stores = await Promise.all([1, 2, 3].map(() => PostgresSubscriptionStore.open({ url, shards: 8, exclusive: false })));
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const [leases] = await sql`SELECT count(*)::int AS n FROM shard_leases`;
    assert.equal(leases!.n, 8);
    await sql.end();
    for (const s of stores) await s.close();
  });
});

describe('postgres store: a change the database refuses', () => {
  test('is refused alone: the other changes of its turn are stored', async () => {
    const url = await freshDatabase();
    const store = await PostgresSubscriptionStore.open({ url, shards: 4 });
    // A primary key beyond what a b-tree index entry holds (about 2.7 kB), random so that it does not compress.
    let big = '';
    for (let i = 0; big.length < 20_000; i++) big += ((i * 2654435761) >>> 0).toString(36);
    const results = await Promise.allSettled([
      store.createApiSubscription(apiSubscription('before')),
      store.createApiSubscription(apiSubscription(big)),
      store.createApiSubscription(apiSubscription('after')),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    const refusal = (results[1] as PromiseRejectedResult).reason as StoreError;
    assert.equal(refusal.code, 'STORE_ERR_IO');
    assert.deepEqual(
      (await store.load()).apiSubscriptions.map((s) => s.id),
      ['after', 'before'].sort(),
    );
    assert.equal(store.stats.failures, 2, 'the group, then the change alone');
    await store.close();
  });
});

describe('postgres store: group commit', () => {
  test('changes asked while a group transaction is in flight go together in the next one', async () => {
    const url = await freshDatabase();
    const store = await PostgresSubscriptionStore.open({ url, shards: 4 });
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    const first = store.createApiSubscription(apiSubscription('first'));
    await turn(); // the first group has started
    const later: Promise<void>[] = [];
    // Each in a turn of the event loop of its own: before, each would have been a transaction.
    for (let i = 0; i < 8; i++) {
      later.push(store.createApiSubscription(apiSubscription(`later${i}`)));
      await turn();
    }
    await Promise.all([first, ...later]);
    assert.equal(store.stats.changes, 9);
    assert.ok(store.stats.transactions <= 3, `9 creates in ${store.stats.transactions} transactions`);
    assert.equal((await store.load()).apiSubscriptions.length, 9);
    await store.close();
  });

  test('a duplicate create is refused and not announced', async () => {
    const url = await freshDatabase();
    const store = await PostgresSubscriptionStore.open({ url, shards: 4, announce: true });
    const listener = await hearAnnouncements(url);
    await store.createApiSubscription(apiSubscription('x'));
    await rejectsWith(store.createApiSubscription(apiSubscription('x')), 'STORE_ERR_DUPLICATE');
    await store.createApiSubscription(apiSubscription('y'));
    await listener.atLeast(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(
      listener.heard.map((h) => (JSON.parse(h) as { id: string }).id),
      ['x', 'y'],
    );
    await listener.end();
    await store.close();
  });
});

describe('postgres store: shards and fencing', () => {
  test('rows carry their shard; loadShards reads only those', async () => {
    const url = await freshDatabase();
    const store = await PostgresSubscriptionStore.open({ url, shards: 4 });
    const subs = Array.from({ length: 40 }, (_, i) => apiSubscription(`s${i}`, { record: `sip:u${i}@example.com`, createdAt: i }));
    for (const s of subs) await store.createApiSubscription(s);
    await store.writeDialogs({ upserts: subs.map((s) => dialog(s.record)) });
    const shard = shardOf('presence', 'sip:u0@example.com', 'sip:bob@example.com', 4);
    const part = await store.loadShards([shard]);
    const expected = subs.filter((s) => shardOf(s.package, s.record, s.subscriber, 4) === shard);
    assert.ok(expected.length > 0 && expected.length < 40);
    assert.deepEqual(part.apiSubscriptions, expected);
    assert.deepEqual(
      part.dialogs.map((d) => d.record).sort(),
      expected.map((s) => s.record).sort(),
    );
    for (const d of part.dialogs) assert.equal(shardOfDialogKey(d.key, 4), shard);
    await store.close();
  });

  test('a fenced write is refused for a shard this node does not hold at that epoch, and written for the others', async () => {
    const url = await freshDatabase();
    const store = await PostgresSubscriptionStore.open({ url, shards: 4, exclusive: false });
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const records = Array.from({ length: 20 }, (_, i) => `sip:f${i}@example.com`);
    const shardOfRecord = (r: string): number => shardOf('presence', r, 'sip:bob@example.com', 4);
    await sql`UPDATE shard_leases SET owner = 'a', epoch = 5, expires_at = clock_timestamp() + interval '1 minute'`;
    const epochs = new Map([
      [0, 5],
      [1, 5],
      [2, 4], // an old epoch: the lease changed hands since
      // shard 3: not held
    ]);
    const result = await store.writeFencedDialogs({ upserts: records.map((r) => dialog(r)) }, { nodeId: 'a', epochOf: (s) => epochs.get(s) });
    assert.deepEqual(result.refusedShards, [2, 3].filter((s) => records.some((r) => shardOfRecord(r) === s)));
    const stored = (await store.load()).dialogs.map((d) => d.record).sort();
    assert.deepEqual(stored, records.filter((r) => shardOfRecord(r) < 2).sort());
    assert.equal(result.written, stored.length);
    assert.equal(result.refused, records.length - stored.length);
    // Another node took shard 0: node a's late writes there are refused, its delete too.
    await sql`UPDATE shard_leases SET owner = 'b', epoch = 6 WHERE shard = 0`;
    const inZero = records.filter((r) => shardOfRecord(r) === 0);
    const late = await store.writeFencedDialogs({ upserts: inZero.map((r) => dialog(r, { localCSeq: 99 })), deletes: [dialog(inZero[0]!).key] }, { nodeId: 'a', epochOf: (s) => epochs.get(s) });
    assert.deepEqual(late.refusedShards, [0]);
    const after = await store.load();
    assert.ok(after.dialogs.filter((d) => inZero.includes(d.record)).every((d) => d.localCSeq === 3));
    assert.equal(after.dialogs.filter((d) => inZero.includes(d.record)).length, inZero.length);
    await sql.end();
    await store.close();
  });

  test('announcements: creations and deletions are notified on pb2b_subscriptions with their shard', async () => {
    const url = await freshDatabase();
    const store = await PostgresSubscriptionStore.open({ url, shards: 4, announce: true });
    const listener = await hearAnnouncements(url);
    await store.createApiSubscription(apiSubscription('x', { queue: 'q' }));
    await store.deleteApiSubscription('x');
    await store.createApiSubscription(apiSubscription('y', { queue: 'q' }));
    await store.deleteQueue('q');
    await listener.atLeast(4);
    const shard = shardOf('presence', 'sip:x@example.com', 'sip:bob@example.com', 4);
    assert.deepEqual(listener.heard.map((h) => JSON.parse(h)), [
      { op: 'create', id: 'x', shard },
      { op: 'delete', id: 'x', shard },
      { op: 'create', id: 'y', shard: shardOf('presence', 'sip:y@example.com', 'sip:bob@example.com', 4) },
      { op: 'delete', id: 'y', shard: shardOf('presence', 'sip:y@example.com', 'sip:bob@example.com', 4) },
    ]);
    await listener.end();
    await store.close();
  });
});

describe('postgres store: announcement listener', () => {
  test('hears creations and deletions; payloads that are not ours are ignored and told', async () => {
    const url = await freshDatabase();
    const store = await PostgresSubscriptionStore.open({ url, shards: 4, announce: true });
    const heard: SubscriptionAnnouncement[] = [];
    const malformed: string[] = [];
    const listener = await listenForAnnouncements(url, { change: (a) => heard.push(a), malformed: (p) => malformed.push(p) });
    const other = postgres(url, { max: 1, onnotice: () => {} });
    for (const junk of ['not json', '{"op":"create","id":"","shard":1}', '{"op":"drop","id":"x","shard":1}', '{"op":"create","id":"x","shard":-1}', '[]']) {
      await other`SELECT pg_notify('pb2b_subscriptions', ${junk})`;
    }
    await store.createApiSubscription(apiSubscription('x'));
    await store.deleteApiSubscription('x');
    for (let i = 0; i < 100 && heard.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const shard = shardOf('presence', 'sip:x@example.com', 'sip:bob@example.com', 4);
    assert.deepEqual(heard, [
      { op: 'create', id: 'x', shard },
      { op: 'delete', id: 'x', shard },
    ]);
    assert.equal(malformed.length, 5);
    await listener.close();
    await listener.close();
    await other.end();
    await store.close();
  });

  test('parseAnnouncement never throws', () => {
    for (const p of ['', 'null', '1', '"x"', '{"op":"create"}', '{"op":"create","id":"a","shard":1.5}', '{"op":"delete","id":"a","shard":2}']) {
      const parsed = parseAnnouncement(p);
      assert.equal(parsed === undefined, p !== '{"op":"delete","id":"a","shard":2}', p);
    }
  });
});
