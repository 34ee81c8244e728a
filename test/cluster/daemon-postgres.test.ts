/**
 * The daemon on a PostgreSQL store (issue 16), in process, against a
 * PostgreSQL started for this file: API subscriptions and queues survive a
 * restart with their ids as on SQLite; a second daemon on the same database
 * is refused; with `cluster:` two nodes share the shards and the
 * subscriptions (docs/cluster.md).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runDoctor } from '../../src/cli/doctor-command.js';
import { parseConfig } from '../../src/config/index.js';
import { type DaemonHandle, startDaemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/log/logger.js';
import postgres from 'postgres';
import { SUBSCRIPTION_CHANNEL } from '../../src/store/postgres-schema.js';
import { PostgresSubscriptionStore } from '../../src/store/postgres-store.js';
import { shardOf } from '../../src/store/shard-of.js';
import { StoreError } from '../../src/store/store-error.js';
import { createDatabase, type RunningEngine, startPostgres } from '../support/engines.js';

let server: RunningEngine | undefined;

before(async () => {
  server = await startPostgres();
});

after(async () => {
  await server?.stop();
});

function config(url: string, extra: Record<string, unknown> = {}) {
  return parseConfig({
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
    http: { host: '127.0.0.1', port: 0 },
    local_agent: { enabled: true, domains: ['localhost'] },
    shutdown: { mode: 'leave', timeout_ms: 500 },
    store: { type: 'postgres', url },
    ...extra,
  });
}

const silent = () => createLogger({ level: 'silent' });

interface SubscriptionJson {
  id: string;
  record: string;
  subscriber: string;
  queue: string;
  createdAt: string;
}

test('API subscriptions survive a restart with their ids; a second daemon on the database is refused', async () => {
  const url = await createDatabase(server!, 'daemon1');
  const first = await startDaemon(config(url), { logger: silent() });
  const base = `http://127.0.0.1:${first.http!.port}`;
  const made: SubscriptionJson[] = [];
  for (const who of ['alice', 'carol']) {
    const res = await fetch(`${base}/v1/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ record: `sip:${who}@localhost`, subscriber: 'sip:bob@localhost', queue: 'q1' }),
    });
    assert.equal(res.status, 201);
    made.push((await res.json()) as SubscriptionJson);
  }
  assert.equal((await fetch(`${base}/v1/subscriptions/${made[1]!.id}`, { method: 'DELETE' })).status, 204);
  await assert.rejects(startDaemon(config(url), { logger: silent() }), (e: unknown) => e instanceof StoreError && e.code === 'STORE_ERR_LOCKED');
  await first.close();

  const second = await startDaemon(config(url), { logger: silent() });
  const listed = (await (await fetch(`http://127.0.0.1:${second.http!.port}/v1/subscriptions`)).json()) as { subscriptions: SubscriptionJson[] };
  assert.deepEqual(
    listed.subscriptions.map((s) => [s.id, s.record, s.queue, s.createdAt]),
    [[made[0]!.id, 'sip:alice@localhost', 'q1', made[0]!.createdAt]],
  );
  await second.close();
});

test('cluster: two nodes share the shards; a subscription created on either is made by the holder of its shard, once; a graceful stop hands every one over at once', async () => {
  const url = await createDatabase(server!, 'daemon2');
  const node = (id: string) => startDaemon(config(url, { cluster: { node_id: id, lease_ttl: 1, shards: 16 } }), { logger: silent() });
  const a = await node('a');
  const b = await node('b');
  try {
    const base = (d: typeof a) => `http://127.0.0.1:${d.http!.port}`;
    const live = async (d: typeof a): Promise<string[]> =>
      ((await (await fetch(`${base(d)}/v1/subscriptions`)).json()) as { subscriptions: SubscriptionJson[] }).subscriptions.map((s) => s.id);
    const until = async (what: string, done: () => Promise<boolean>): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        if (await done()) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.fail(`not within 10 s: ${what}`);
    };
    // Each takes its half (8 of 16) from its second round on.
    await until('the shards are shared', async () => held(a) === 8 && held(b) === 8);
    const made: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${base(i % 2 === 0 ? a : b)}/v1/subscriptions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ record: `sip:user${i}@localhost`, subscriber: 'sip:bob@localhost', queue: 'q1' }),
      });
      assert.equal(res.status, 201);
      made.push(((await res.json()) as SubscriptionJson).id);
    }
    // Made once, by the holder of the shard (the one created elsewhere is heard through its announcement).
    await until('every subscription live on exactly one node', async () => {
      const all = [...(await live(a)), ...(await live(b))];
      return all.length === 20 && new Set(all).size === 20;
    });
    assert.ok((await live(a)).length > 0 && (await live(b)).length > 0, 'both nodes make some');
    // A deletion on the node that does not hold it ends it on the one that does.
    const far = made.find((id) => !a.broker.get(id))!;
    // Before that, a GET on either node finds it: live on the holder, as stored (state none) on the other.
    const one = async (d: typeof a, id: string): Promise<{ status: number; body: SubscriptionJson & { state?: string } }> => {
      const res = await fetch(`${base(d)}/v1/subscriptions/${id}`);
      return { status: res.status, body: (await res.json()) as SubscriptionJson & { state?: string } };
    };
    const onHolder = await one(b, far);
    const elsewhere = await one(a, far);
    assert.equal(onHolder.status, 200);
    assert.equal(elsewhere.status, 200, 'found on the node that does not hold it');
    assert.deepEqual(
      { id: elsewhere.body.id, record: elsewhere.body.record, queue: elsewhere.body.queue, createdAt: elsewhere.body.createdAt, state: elsewhere.body.state },
      { id: far, record: onHolder.body.record, queue: 'q1', createdAt: onHolder.body.createdAt, state: 'none' },
    );
    assert.equal((await one(a, 'no-such-subscription')).status, 404);
    assert.equal((await fetch(`${base(a)}/v1/subscriptions/${far}`, { method: 'DELETE' })).status, 204);
    await until('the deletion reaches the holder', async () => !(await live(b)).includes(far));
    await a.close();
    await until('node b holds every shard and every subscription', async () => held(b) === 16 && (await live(b)).length === 19);
  } finally {
    await a.close();
    await b.close();
  }
});

test('cluster: a subscription stored in a held shard whose announcement never came (a LISTEN reconnecting, a failed read) is made by the reconciliation', async () => {
  const url = await createDatabase(server!, 'daemon3');
  const a = await singleNode(url);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // Stored as another node stores it, but without its NOTIFY: the announcement is lost. Stored 10 s ago: the
    // reconciliation leaves a row of the last 2 s to its announcement, which may still be on the way.
    const record = 'sip:lost@localhost';
    const subscriber = 'sip:bob@localhost';
    await sql`INSERT INTO api_subscriptions (id, record, subscriber, package, queue, created_at, shard)
              VALUES ('lost-announcement', ${record}, ${subscriber}, 'presence', 'q1', ${Date.now() - 10_000}, ${shardOf('presence', record, subscriber, 16)})`;
    assert.equal(a.broker.get('lost-announcement'), undefined, 'nothing told the holder');
    await a.cluster!.reconcile();
    assert.equal(a.broker.get('lost-announcement')?.record, record, 'made by the holder');
    assert.equal(a.cluster!.stats.reconciledMade, 1, 'once (by this run or the periodic one before it)');
    assert.equal(await a.cluster!.reconcile(), 0, 'nothing more to make');
  } finally {
    await sql.end({ timeout: 1 });
    await a.close();
  }
});

test('cluster: a deletion whose announcement never came is ended by the reconciliation; a creation here whose row is not committed yet is not', async () => {
  const url = await createDatabase(server!, 'daemon6');
  const a = await singleNode(url);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const record = 'sip:deleted@localhost';
    const subscriber = 'sip:bob@localhost';
    const shard = shardOf('presence', record, subscriber, 16);
    await sql`INSERT INTO api_subscriptions (id, record, subscriber, package, queue, created_at, shard)
              VALUES ('deleted-unheard', ${record}, ${subscriber}, 'presence', 'q1', ${Date.now() - 10_000}, ${shard})`;
    await a.cluster!.reconcile();
    assert.equal(a.broker.get('deleted-unheard')?.record, record, 'made by the holder');
    // In the same shard, a creation on this node between the broker and its row's commit: live, no row yet.
    const inFlight = a.broker.subscribe({ id: 'in-flight', package: 'presence', record, subscriber, queue: a.broker.get('deleted-unheard')!.queue, data: { source: 'http' } });
    // Deleted as another node deletes it, but without its NOTIFY: the announcement is lost.
    await sql`DELETE FROM api_subscriptions WHERE id = 'deleted-unheard'`;
    const before = a.cluster!.stats.reconciledEnded;
    assert.equal(await a.cluster!.reconcile(), 0, 'nothing to make');
    assert.equal(a.broker.get('deleted-unheard'), undefined, 'ended by the holder');
    assert.equal(a.cluster!.stats.reconciledEnded, before + 1);
    assert.equal(a.broker.get('in-flight'), inFlight, 'a creation younger than its row may be is left alone');
    await a.cluster!.reconcile();
    assert.equal(a.cluster!.stats.reconciledEnded, before + 1, 'ended once');
    a.broker.unsubscribe(inFlight);
  } finally {
    await sql.end({ timeout: 1 });
    await a.close();
  }
});

test('cluster: a missed creation and a missed deletion in two shards are settled by one reconciliation, which reads their rows once', async () => {
  const url = await createDatabase(server!, 'daemon7');
  const a = await singleNode(url);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  // Every read of rows by shard, with its shards: a run with a short and an over shard reads both at once.
  const reads: number[][] = [];
  const load = PostgresSubscriptionStore.prototype.loadApiSubscriptionsOfShards;
  PostgresSubscriptionStore.prototype.loadApiSubscriptionsOfShards = function (this: PostgresSubscriptionStore, shards: readonly number[]) {
    reads.push([...shards].sort((x, y) => x - y));
    return load.call(this, shards);
  };
  try {
    const subscriber = 'sip:bob@localhost';
    const deletedRecord = 'sip:deleted@localhost';
    const deletedShard = shardOf('presence', deletedRecord, subscriber, 16);
    let lostRecord = 'sip:lost0@localhost';
    for (let i = 1; i < 100 && shardOf('presence', lostRecord, subscriber, 16) === deletedShard; i++) lostRecord = `sip:lost${i}@localhost`;
    const lostShard = shardOf('presence', lostRecord, subscriber, 16);
    assert.notEqual(lostShard, deletedShard);
    await sql`INSERT INTO api_subscriptions (id, record, subscriber, package, queue, created_at, shard)
              VALUES ('deleted-unheard', ${deletedRecord}, ${subscriber}, 'presence', 'q1', ${Date.now() - 10_000}, ${deletedShard})`;
    await a.cluster!.reconcile();
    assert.equal(a.broker.get('deleted-unheard')?.record, deletedRecord, 'made by the holder');
    const made = a.cluster!.stats.reconciledMade;
    const ended = a.cluster!.stats.reconciledEnded;
    reads.length = 0;
    // Another node's creation in one shard and deletion in another, both without their NOTIFY, in one
    // transaction: any run (this one or the periodic one) sees both or neither.
    await sql.begin(async (tx) => {
      await tx`INSERT INTO api_subscriptions (id, record, subscriber, package, queue, created_at, shard)
               VALUES ('lost-announcement', ${lostRecord}, ${subscriber}, 'presence', 'q1', ${Date.now() - 10_000}, ${lostShard})`;
      await tx`DELETE FROM api_subscriptions WHERE id = 'deleted-unheard'`;
    });
    await a.cluster!.reconcile();
    assert.equal(a.broker.get('lost-announcement')?.record, lostRecord, 'the missed creation is made');
    assert.equal(a.broker.get('deleted-unheard'), undefined, 'the missed deletion is ended');
    assert.equal(a.cluster!.stats.reconciledMade, made + 1);
    assert.equal(a.cluster!.stats.reconciledEnded, ended + 1);
    const expected = [lostShard, deletedShard].sort((x, y) => x - y);
    assert.deepEqual(reads, [expected], 'one read, of both shards (by this run or the periodic one before it)');
  } finally {
    PostgresSubscriptionStore.prototype.loadApiSubscriptionsOfShards = load;
    await sql.end({ timeout: 1 });
    await a.close();
  }
});

test('cluster: a creation announced while a reconciliation reads is made by its announcement, not counted as missed', async () => {
  const url = await createDatabase(server!, 'daemon5');
  const a = await singleNode(url);
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  try {
    await a.cluster!.reconcile(); // the periodic run, if one is due, out of the way
    const before = { ...a.cluster!.stats };
    const record = 'sip:raced@localhost';
    const subscriber = 'sip:bob@localhost';
    const shard = shardOf('presence', record, subscriber, 16);
    let reconciling: Promise<number> | undefined;
    // Another node's creation, stored and announced as its store does it, committed while the reconciliation's
    // count waits on the table lock: the count sees the row, and the announcement arrives behind the step.
    await sql.begin(async (tx) => {
      await tx`LOCK TABLE api_subscriptions IN ACCESS EXCLUSIVE MODE`;
      await tx`INSERT INTO api_subscriptions (id, record, subscriber, package, queue, created_at, shard)
               VALUES ('raced', ${record}, ${subscriber}, 'presence', 'q1', ${Date.now()}, ${shard})`;
      await tx`SELECT pg_notify(${SUBSCRIPTION_CHANNEL}, ${JSON.stringify({ op: 'create', id: 'raced', shard })})`;
      reconciling = a.cluster!.reconcile();
      for (let i = 0; i < 100; i++) {
        const [row] = await sql`SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'api_subscriptions'::regclass AND NOT granted`;
        if (row!.n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    assert.equal(await reconciling, 0, 'the reconciliation leaves it to the batch queued behind it');
    for (let i = 0; i < 100 && a.broker.get('raced') === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(a.broker.get('raced')?.record, record, 'made by the holder');
    assert.equal(a.cluster!.stats.reconciledMade, before.reconciledMade, 'not made by the reconciliation');
    assert.equal(a.cluster!.stats.announcementsMade, before.announcementsMade + 1, 'made by its announcement');
  } finally {
    await sql.end({ timeout: 1 });
    await a.close();
  }
});

test('cluster: creations announced together are read together: 60 made by the holder in a few reads, not one each', async () => {
  const url = await createDatabase(server!, 'daemon4');
  const a = await singleNode(url);
  // Another node's store: its creations are announced, and those of one turn commit (and NOTIFY) together.
  const other = await PostgresSubscriptionStore.open({ url, shards: 16, exclusive: false, announce: true });
  try {
    const ids = Array.from({ length: 60 }, (_, i) => `announced-${i}`);
    await Promise.all(
      ids.map((id, i) => other.createApiSubscription({ id, record: `sip:user${i}@localhost`, subscriber: 'sip:bob@localhost', package: 'presence', queue: 'q1', createdAt: Date.now() })),
    );
    for (let i = 0; i < 100 && !ids.every((id) => a.broker.get(id) !== undefined); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(
      ids.every((id) => a.broker.get(id) !== undefined),
      'every announced creation made by the holder',
    );
    const { announcementsMade, announcementReads, reconciledMade } = a.cluster!.stats;
    assert.equal(announcementsMade + reconciledMade, 60);
    assert.ok(announcementReads <= 5, `${announcementReads} reads for 60 announcements`);
  } finally {
    await other.close();
    await a.close();
  }
});

function held(d: DaemonHandle): number {
  return d.cluster?.heldShards().length ?? -1;
}

/** A cluster node alone on the database (lease_ttl 3 s, 16 shards, no local agent), once it holds every shard. */
async function singleNode(url: string): Promise<DaemonHandle> {
  const a = await startDaemon(config(url, { local_agent: { enabled: false }, cluster: { node_id: 'a', lease_ttl: 3, shards: 16 } }), { logger: silent() });
  for (let i = 0; i < 100 && held(a) !== 16; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  if (held(a) !== 16) {
    await a.close();
    assert.fail(`the single node holds ${held(a)} of 16 shards`);
  }
  return a;
}

test('doctor: the PostgreSQL store opens (counts shown, password hidden), or FAIL naming the database', async () => {
  const url = await createDatabase(server!, 'doctor1');
  const dir = mkdtempSync(join(tmpdir(), 'pb2b-doctor-pg-'));
  try {
    const run = async (storeUrl: string): Promise<{ status: number; store: string }> => {
      const file = join(dir, 'config.yaml');
      writeFileSync(
        file,
        stringify({ sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] }, http: { host: '127.0.0.1', port: 0 }, store: { type: 'postgres', url: storeUrl } }),
      );
      const lines: string[] = [];
      const status = await runDoctor({ config: file, timeout: 2 }, (line) => lines.push(line));
      return { status, store: lines.find((l) => l.includes('store')) ?? '' };
    };
    const good = await run(url);
    assert.equal(good.status, 0, good.store);
    assert.match(good.store, /ok.*opens: 0 subscriptions, 0 queues/);
    const bad = await run('postgres://pb2b:secret@127.0.0.1:1/none');
    assert.equal(bad.status, 1);
    assert.match(bad.store, /FAIL.*127\.0\.0\.1:1\/none.*cannot connect/);
    assert.ok(!bad.store.includes('secret'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
