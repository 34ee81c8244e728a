/**
 * The split-brain test of issue 16, with real processes: two presence-b2b
 * nodes (CLI daemons, `cluster:` with a 3 s lease) on one PostgreSQL started
 * by this file and the real Kamailio (PB2B_KAMAILIO, scripts/with-peers.sh),
 * 300 subscriptions through both APIs, PUBLISH changes flowing. Node n2 is
 * paused (SIGSTOP) past its lease; n1 takes every shard over and resumes
 * n2's dialogs. Then n2 is resumed (SIGCONT):
 * - it notices at once (its own clock says its leases ran out, or the lease
 *   table says they were taken, or a late snapshot write is refused by the
 *   epoch check: the new owner's rows are never overwritten) and drops its
 *   dialogs WITHOUT unSUBSCRIBE: neither node sends a single Expires: 0
 *   (counted by each engine), so nothing ends the dialogs n1 resumed;
 * - it rejoins: n1 hands shards back (snapshots flushed, dialogs left
 *   without a word) and n2 resumes them;
 * - every subscription is active, and every record's last published state
 *   reaches the consumer (read from both nodes' queues until the status relay
 *   exists; duplicates counted).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import postgres from 'postgres';
import type { DaemonProcess } from '../daemon/support/daemon-process.js';
import { cleanupsAfterAll, createSpread, dumpLogs, health, listed, MergedConsumer, pollUntil, setUpCluster, startNode } from './support/cluster-rig.js';

const SUBSCRIPTIONS = 300;
const LEASE_TTL_S = 3;
const SHARDS = 64;
const QUEUE = 'split';
/** Users far from those of the other Kamailio tests. */
const USER_BASE = 700_000;

const cleanups = cleanupsAfterAll();

test('split brain: a node paused past its lease drops its dialogs without unSUBSCRIBE when resumed, its late writes refused, and rejoins', async (t) => {
  const started = performance.now();
  const { url, proxy, publisher } = await setUpCluster(cleanups, { database: 'splitbrain', userBase: USER_BASE, label: 'split', records: SUBSCRIPTIONS });
  const nodes: DaemonProcess[] = await Promise.all(
    ['n1', 'n2'].map((nodeId) =>
      startNode({ nodeId, url, proxy, leaseTtl: LEASE_TTL_S, shards: SHARDS, maxSubscribeRate: 250, extra: { timers: { t1: 250 } } }),
    ),
  );
  const [n1, n2] = nodes as [DaemonProcess, DaemonProcess];
  for (const n of nodes) cleanups.push(() => n.kill());
  // A paused process left behind would hold the test's cleanup: it is continued before it is killed.
  cleanups.push(() => {
    n2.child.kill('SIGCONT');
  });
  const held = async (n: DaemonProcess): Promise<number> => (await health(n)).cluster.shardsHeld;
  assert.ok(await pollUntil(async () => (await held(n1)) === SHARDS / 2 && (await held(n2)) === SHARDS / 2, 30_000), 'the two nodes share the shards');

  const made = await createSpread(nodes, publisher, SUBSCRIPTIONS, QUEUE);
  const consumer = new MergedConsumer(nodes.slice(0, 1), QUEUE); // n1 only, the node not paused: the relay brings it n2's statuses
  cleanups.push(() => consumer.close());
  const activeOn = async (of: readonly DaemonProcess[]): Promise<number> => {
    const all = await listed(of);
    let n = 0;
    for (const id of made.keys()) if (all.get(id)?.state === 'active') n++;
    return n;
  };
  assert.ok(await pollUntil(async () => (await activeOn(nodes)) === SUBSCRIPTIONS, 40_000), 'all active');
  const onN2 = (await listed([n2])).size;

  let publishing = true;
  const changes = (async () => {
    while (publishing) {
      const batch = Array.from({ length: 5 }, () => publisher.publish(Math.floor(Math.random() * SUBSCRIPTIONS), Math.random() < 0.5 ? 'open' : 'closed'));
      await Promise.all([...batch, new Promise((r) => setTimeout(r, 100))]);
    }
  })();
  cleanups.push(async () => {
    publishing = false;
    await changes.catch(() => undefined);
  });
  await new Promise((r) => setTimeout(r, 1500));

  // ---- n2 paused past its lease: n1 takes every shard and resumes n2's dialogs
  const pausedAt = performance.now();
  n2.child.kill('SIGSTOP');
  const tookOver = await pollUntil(async () => (await held(n1)) === SHARDS && (await activeOn([n1])) === SUBSCRIPTIONS, 40_000);
  if (!tookOver) {
    const all = await listed([n1]);
    const states = new Map<string, number>();
    for (const id of made.keys()) {
      const s = all.get(id);
      const key = s === undefined ? 'not listed' : `${s.state}/${s.dialog?.state ?? 'no dialog'}`;
      states.set(key, (states.get(key) ?? 0) + 1);
    }
    dumpLogs(nodes, 'split', { states: Object.fromEntries(states) });
    // What the database connections are doing (one waiting on a lock that the paused node's open transaction holds?).
    const db = postgres(url, { max: 1, onnotice: () => {} });
    const activity = await db`SELECT application_name, state, wait_event_type, wait_event, left(query, 100) AS query, now() - xact_start AS open_for
                              FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
    await db.end({ timeout: 1 });
    assert.fail(
      `n1 takes every shard and subscription over (${await held(n1)} shards, ${await activeOn([n1])} active): ${JSON.stringify(Object.fromEntries(states))}; ${JSON.stringify(await health(n1))}; ` +
        `database sessions: ${JSON.stringify(activity)}`,
    );
  }
  const takeoverMs = performance.now() - pausedAt;
  // Well past the lease by n2's clock too.
  await new Promise((r) => setTimeout(r, Math.max(0, 2 * LEASE_TTL_S * 1000 - takeoverMs)));
  const pauseMs = performance.now() - pausedAt;
  const linesBefore = n2.lines.length;

  // ---- resumed: it notices, drops without unSUBSCRIBE, rejoins
  n2.child.kill('SIGCONT');
  const noticed = await n2.waitForLog((l) => l.msg.startsWith('cluster: shards lost') && n2.lines.indexOf(l) >= linesBefore, 15_000);
  // The new owner's rows are untouched: in the shards n1 holds, no snapshot names n2's Contact (a late write of
  // n2's would have: the fenced write refuses it, or n2's self-fencing discarded it before it was tried).
  await new Promise((r) => setTimeout(r, 1500));
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  let rowsOfN2 = -1;
  let rowsOfN1 = -1;
  try {
    const count = async (port: number): Promise<number> => {
      const [row] = await sql<Array<{ n: string }>>`
        SELECT count(*) AS n FROM dialogs d JOIN shard_leases l ON l.shard = d.shard
        WHERE l.owner = 'n1' AND d.contact LIKE ${`%:${port}>%`}`;
      return Number(row?.n);
    };
    rowsOfN2 = await count(n2.sipAddress().port);
    rowsOfN1 = await count(n1.sipAddress().port);
  } finally {
    await sql.end({ timeout: 5 });
  }
  const rejoined = await pollUntil(async () => (await held(n2)) === SHARDS / 2 && (await held(n1)) === SHARDS / 2, 40_000);
  assert.ok(rejoined, `n2 rejoins: shares ${await held(n1)}/${await held(n2)}`);
  const rejoinMs = performance.now() - pausedAt - pauseMs;
  assert.ok(await pollUntil(async () => (await activeOn(nodes)) === SUBSCRIPTIONS, 40_000), `all active on the two nodes (${await activeOn(nodes)})`);
  await new Promise((r) => setTimeout(r, 1500));
  publishing = false;
  await changes;
  assert.equal(publisher.failures, 0, 'every PUBLISH answered 200');
  const converged = await pollUntil(async () => consumer.mismatches(made, publisher).length === 0, 40_000);

  const [h1, h2] = await Promise.all(nodes.map(health));
  t.diagnostic(
    `2 nodes, ${SUBSCRIPTIONS} subscriptions (${onN2} on n2), lease_ttl ${LEASE_TTL_S} s: n2 SIGSTOPped for ${(pauseMs / 1000).toFixed(1)} s, ` +
      `n1 held every shard with all active ${(takeoverMs / 1000).toFixed(1)} s after the stop (${h1!.restart.resumed} resumed in-dialog, ${h1!.restart.fallbacks} fallbacks, ${h1!.restart.lostAfterResume} found dropped by the confirming refresh); ` +
      `after SIGCONT n2 noticed (reason ${String(noticed.reason)}, ${noticed.shards} shards, ${noticed.dialogs} dialogs handed over), ` +
      `${h2!.cluster.fencedRefusals} of its late snapshot writes refused by the epoch check, ` +
      `${rowsOfN2} rows of n1's shards with n2's Contact after it (${rowsOfN1} with n1's); rejoined (32/32) ${(rejoinMs / 1000).toFixed(1)} s after SIGCONT; ` +
      `unSUBSCRIBEs sent: n1 ${h1!.cluster.unsubscribesSent}, n2 ${h2!.cluster.unsubscribesSent}; n2 answered ${h2!.restart.handedOverNotifies} late NOTIFYs 200; ` +
      `consumer: ${consumer.events} events, ${consumer.duplicates()} duplicates; ${((performance.now() - started) / 1000).toFixed(1)} s in all`,
  );
  const wrong = consumer.mismatches(made, publisher);
  assert.ok(converged, `${wrong.length} subscriptions not at their last published state, e.g.\n${wrong.slice(0, 5).join('\n')}`);
  assert.ok(['expired', 'taken', 'refused'].includes(String(noticed.reason)), 'n2 noticed the loss');
  assert.ok(Number(noticed.dialogs) > 0, 'and dropped its dialogs');
  assert.ok(rowsOfN1 > 0, 'n1 stored the dialogs it resumed');
  assert.equal(rowsOfN2, 0, "no late write of n2's reached the rows of n1's shards");
  assert.equal(h2!.cluster.unsubscribesSent, 0, 'n2 sent no unSUBSCRIBE: the dialogs n1 resumed live on');
  assert.equal(h1!.cluster.unsubscribesSent, 0, 'n1 sent none either (shards handed back without a word)');
  for (const n of nodes) assert.equal((await n.stop('SIGTERM', 20_000)).code, 0);
});
