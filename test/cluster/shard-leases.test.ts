/**
 * Shard leases and fencing (issue 16) against a real PostgreSQL 15, started
 * for this file (peers/start-postgres.sh). Rounds are driven by hand
 * (ManualClock, runRound); the passing of lease_ttl at the database is
 * written into the lease rows (expires_at in the past), since the database's
 * own clock cannot be moved: no test here sleeps.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { ClusterError } from '../../src/cluster/cluster-error.js';
import { PostgresLeaseTable } from '../../src/cluster/postgres-lease-table.js';
import { ShardLeaseManager, type ShardLossReason } from '../../src/cluster/shard-lease-manager.js';
import { PostgresSubscriptionStore } from '../../src/store/postgres-store.js';
import { shardOf } from '../../src/store/shard-of.js';
import { ManualClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { TimerScheduler } from '../../src/util/timer-scheduler.js';
import { createDatabase, type RunningEngine, startPostgres } from '../support/engines.js';
import { dialog } from '../support/store-suite.js';

let server: RunningEngine | undefined;
let databases = 0;

before(async () => {
  server = await startPostgres();
});

after(async () => {
  await server?.stop();
});

interface Fixture {
  url: string;
  sql: postgres.Sql;
  closers: Array<() => Promise<void>>;
}

async function fixture(shards: number): Promise<Fixture> {
  const url = await createDatabase(server!, `l${++databases}`);
  const store = await PostgresSubscriptionStore.open({ url, shards, exclusive: false });
  await store.close();
  return { url, sql: postgres(url, { max: 1, onnotice: () => {} }), closers: [] };
}

async function done(f: Fixture): Promise<void> {
  for (const close of f.closers.reverse()) await close();
  await f.sql.end();
}

async function table(f: Fixture): Promise<PostgresLeaseTable> {
  const t = await PostgresLeaseTable.open(f.url);
  f.closers.push(() => t.close());
  return t;
}

interface TestNode {
  manager: ShardLeaseManager;
  lost: Array<{ shards: readonly number[]; reason: ShardLossReason }>;
  clock: ManualClock;
}

async function node(f: Fixture, id: string, seed: number): Promise<TestNode> {
  const clock = new ManualClock();
  const lost: TestNode['lost'] = [];
  const manager = new ShardLeaseManager({
    nodeId: id,
    table: await table(f),
    scheduler: new TimerScheduler(clock),
    random: new SeededRandom(seed),
    listener: { acquired: () => {}, lost: (shards, reason) => lost.push({ shards, reason }) },
  });
  return { manager, lost, clock };
}

/** The lease_ttl of `owner` passes at the database without a renewal (a paused or dead node). */
async function expire(f: Fixture, owner: string): Promise<void> {
  await f.sql`UPDATE shard_leases SET expires_at = clock_timestamp() - interval '1 millisecond' WHERE owner = ${owner}`;
  await f.sql`UPDATE cluster_nodes SET expires_at = clock_timestamp() - interval '1 millisecond' WHERE node_id = ${owner}`;
}

describe('PostgreSQL lease table', () => {
  test('two nodes acquiring the same 256 shards at once get disjoint sets, each shard at epoch 1', async () => {
    const f = await fixture(256);
    const [a, b] = [await table(f), await table(f)];
    const all = Array.from({ length: 256 }, (_, i) => i);
    const [gotA, gotB] = await Promise.all([a.acquire('a', all, 15_000), b.acquire('b', [...all].reverse(), 15_000)]);
    const shardsA = new Set(gotA.map((l) => l.shard));
    assert.ok(gotB.every((l) => !shardsA.has(l.shard)));
    assert.ok([...gotA, ...gotB].every((l) => l.epoch === 1));
    const owners = await a.owners();
    assert.equal(owners.size, gotA.length + gotB.length);
    // Whatever SKIP LOCKED left out is still free.
    assert.equal((await a.free()).length, 256 - owners.size);
    await done(f);
  });

  test('an expired lease cannot be renewed, only acquired again under epoch + 1; release frees at once', async () => {
    const f = await fixture(8);
    const t = await table(f);
    const got = await t.acquire('a', [0, 1, 2], 15_000);
    assert.deepEqual(await t.renew('a', got, 15_000), got);
    assert.deepEqual(await t.renew('b', got, 15_000), [], 'not the owner');
    assert.deepEqual(await t.renew('a', [{ shard: 0, epoch: 7 }], 15_000), [], 'not that epoch');
    await expire(f, 'a');
    assert.deepEqual(await t.renew('a', got, 15_000), []);
    assert.deepEqual(await t.acquire('b', [0, 1], 15_000), [
      { shard: 0, epoch: 2 },
      { shard: 1, epoch: 2 },
    ]);
    assert.deepEqual(await t.release('b', [{ shard: 0, epoch: 2 }]), [0]);
    assert.ok((await t.free()).includes(0));
    assert.deepEqual(await t.acquire('a', [0], 15_000), [{ shard: 0, epoch: 3 }]);
    await done(f);
  });

  test('heartbeats: live node ids in order; a second live process with the same node id is refused; leave', async () => {
    const f = await fixture(4);
    const t = await table(f);
    assert.deepEqual(await t.heartbeat('b', 'i1', 15_000), ['b']);
    assert.deepEqual(await t.heartbeat('a', 'i2', 15_000), ['a', 'b']);
    await assert.rejects(t.heartbeat('a', 'i3', 15_000), (e: unknown) => e instanceof ClusterError && e.code === 'CLUSTER_ERR_DUPLICATE_NODE');
    await t.leave('a', 'i2');
    assert.deepEqual(await t.heartbeat('a', 'i3', 15_000), ['a', 'b']);
    await expire(f, 'b');
    assert.deepEqual(await t.heartbeat('a', 'i3', 15_000), ['a']);
    await done(f);
  });

  test('a database that does not answer: CLUSTER_ERR_IO naming it, without its password', async () => {
    await assert.rejects(
      PostgresLeaseTable.open('postgres://pb2b:secret@127.0.0.1:1/none', { connectTimeoutSeconds: 2 }),
      (e: unknown) => e instanceof ClusterError && e.code === 'CLUSTER_ERR_IO' && /127\.0\.0\.1:1\/none/.test(e.message) && !e.message.includes('secret'),
    );
  });
});

describe('PostgreSQL leases with managers', () => {
  test('three nodes share 64 shards exactly (22, 21, 21); a graceful stop hands over at once', async () => {
    const f = await fixture(64);
    const nodes = [await node(f, 'a', 1), await node(f, 'b', 2), await node(f, 'c', 3)];
    for (const n of nodes) await n.manager.start();
    for (let round = 0; round < 3; round++) for (const n of nodes) await n.manager.runRound();
    assert.deepEqual(
      nodes.map((n) => n.manager.heldShards().length),
      [22, 21, 21],
    );
    await nodes[2]!.manager.stop();
    for (let round = 0; round < 2; round++) for (const n of nodes.slice(0, 2)) await n.manager.runRound();
    assert.deepEqual(
      nodes.slice(0, 2).map((n) => n.manager.heldShards().length),
      [32, 32],
    );
    for (const n of nodes.slice(0, 2)) await n.manager.stop();
    const [left] = await f.sql`SELECT count(*)::int AS n FROM shard_leases WHERE owner IS NOT NULL`;
    assert.equal(left!.n, 0, 'every lease released');
    await done(f);
  });

  test('fencing: a node that lost its lease while paused cannot overwrite the new owner\'s dialogs; it notices and rejoins', async () => {
    const f = await fixture(16);
    const a = await node(f, 'a', 1);
    const b = await node(f, 'b', 2);
    const storeA = await PostgresSubscriptionStore.open({ url: f.url, shards: 16, exclusive: false });
    const storeB = await PostgresSubscriptionStore.open({ url: f.url, shards: 16, exclusive: false });
    f.closers.push(
      () => storeA.close(),
      () => storeB.close(),
    );
    await a.manager.start();
    await a.manager.runRound(); // joined
    await a.manager.runRound(); // all 16 shards
    assert.equal(a.manager.heldShards().length, 16);
    const records = Array.from({ length: 40 }, (_, i) => `sip:u${i}@example.com`);
    const first = await storeA.writeFencedDialogs({ upserts: records.map((r) => dialog(r, { localCSeq: 10 })) }, a.manager.fence);
    assert.deepEqual(first.refusedShards, []);
    assert.equal(first.written, 40);

    // a is paused (SIGSTOP) past lease_ttl: its leases expire at the database; b joins and takes every shard.
    await expire(f, 'a');
    await b.manager.start();
    await b.manager.runRound();
    await b.manager.runRound();
    assert.equal(b.manager.heldShards().length, 16);
    for (const s of b.manager.heldShards()) assert.equal(b.manager.epochOf(s), 2);
    const byB = await storeB.writeFencedDialogs({ upserts: records.map((r) => dialog(r, { localCSeq: 500 })) }, b.manager.fence);
    assert.equal(byB.written, 40);

    // a resumes: it still believes it holds the shards at epoch 1; its late writes and deletes are refused.
    assert.equal(a.manager.heldShards().length, 16);
    const late = await storeA.writeFencedDialogs(
      { upserts: records.map((r) => dialog(r, { localCSeq: 11 })), deletes: [dialog(records[0]!).key] },
      a.manager.fence,
    );
    assert.equal(late.written, 0);
    assert.equal(late.refused, 41);
    const touched = [...new Set(records.map((r) => shardOf('presence', r, 'sip:bob@example.com', 16)))].sort((x, y) => x - y);
    assert.deepEqual(late.refusedShards, touched);
    const stored = (await storeB.load()).dialogs;
    assert.equal(stored.length, 40);
    assert.ok(stored.every((d) => d.localCSeq === 500), 'the new owner\'s state is intact');
    // It notices (the refusal, then its renewal) and drops them, without touching the rows.
    a.manager.noteRefused(late.refusedShards);
    await a.manager.runRound();
    assert.deepEqual(a.manager.heldShards().length, 0);
    assert.deepEqual(
      a.lost.flatMap((l) => l.shards).sort((x, y) => x - y),
      Array.from({ length: 16 }, (_, i) => i),
    );
    assert.deepEqual(a.lost[0]!.reason, 'refused');
    // Rejoins: b releases its excess, a takes its share under new epochs.
    for (let round = 0; round < 4; round++) {
      await b.manager.runRound();
      await a.manager.runRound();
    }
    assert.deepEqual(
      [a.manager.heldShards().length, b.manager.heldShards().length],
      [8, 8],
    );
    for (const s of a.manager.heldShards()) assert.equal(a.manager.epochOf(s), 3);
    await a.manager.stop();
    await b.manager.stop();
    await done(f);
  });
});
