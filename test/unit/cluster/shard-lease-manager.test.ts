/**
 * Shard leases (issue 16) on the in-memory lease table, time injected: the
 * table runs on a "database clock", each node on its own ManualClock, which
 * a test can hold still (a paused process) while the others move on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterError } from '../../../src/cluster/cluster-error.js';
import type { HeldLease } from '../../../src/cluster/lease-table.js';
import { MemoryLeaseTable } from '../../../src/cluster/memory-lease-table.js';
import { ShardLeaseManager, type ShardLossReason } from '../../../src/cluster/shard-lease-manager.js';
import { ManualClock } from '../../../src/util/clock.js';
import { InvalidOptionError } from '../../../src/util/invalid-option-error.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';

const TTL = 15_000;
const STEP = 100;

class Node {
  readonly clock = new ManualClock();
  readonly scheduler = new TimerScheduler(this.clock);
  readonly acquired: HeldLease[] = [];
  readonly lost: Array<{ shards: readonly number[]; reason: ShardLossReason }> = [];
  readonly released: number[] = [];
  readonly errors: unknown[] = [];
  readonly manager: ShardLeaseManager;
  paused = false;
  dead = false;

  constructor(
    readonly id: string,
    table: MemoryLeaseTable,
    seed: number,
  ) {
    this.manager = new ShardLeaseManager({
      nodeId: id,
      table,
      leaseTtlMs: TTL,
      scheduler: this.scheduler,
      random: new SeededRandom(seed),
      listener: {
        acquired: (leases) => this.acquired.push(...leases),
        lost: (shards, reason) => this.lost.push({ shards, reason }),
        releasing: async (shards) => {
          this.released.push(...shards);
        },
      },
      onError: (error) => this.errors.push(error),
    });
  }

  kill(): void {
    // SIGKILL: nothing more runs, nothing is released.
    this.dead = true;
    this.scheduler.close();
  }
}

class Cluster {
  readonly db = new ManualClock();
  readonly table: MemoryLeaseTable;
  readonly nodes: Node[];

  constructor(shards: number, count: number) {
    this.table = new MemoryLeaseTable(shards, this.db);
    this.nodes = Array.from({ length: count }, (_, i) => new Node(String.fromCharCode(97 + i), this.table, i + 1));
  }

  async start(): Promise<void> {
    for (const n of this.nodes) await n.manager.start();
  }

  /** Moves every clock by `ms` (a paused node's stays), in steps, letting the rounds' promises settle. */
  async run(ms: number, check?: () => void): Promise<void> {
    for (let t = 0; t < ms; t += STEP) {
      this.db.advance(STEP);
      for (const n of this.nodes) if (!n.paused && !n.dead) n.clock.advance(STEP);
      await new Promise((resolve) => setImmediate(resolve));
      check?.();
    }
  }

  /** Resumes a paused node: its clock jumps to the others' (its overdue timers fire at once, as after SIGCONT). */
  async resume(node: Node): Promise<void> {
    node.paused = false;
    node.clock.advance(this.db.now() - node.clock.now());
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Shard → the nodes that may write it (pass the fence) now. */
  writers(): Map<number, string[]> {
    const out = new Map<number, string[]>();
    for (const n of this.nodes) {
      if (n.dead) continue;
      for (const s of n.manager.heldShards()) {
        if (!this.table.fenceAllows(n.id, s, n.manager.epochOf(s)!)) continue;
        out.set(s, [...(out.get(s) ?? []), n.id]);
      }
    }
    return out;
  }

  counts(): number[] {
    return this.nodes.map((n) => n.manager.heldShards().length);
  }
}

function assertDisjointAndComplete(cluster: Cluster, shards: number, nodes: readonly Node[]): void {
  const seen = new Set<number>();
  for (const n of nodes) {
    for (const s of n.manager.heldShards()) {
      assert.ok(!seen.has(s), `shard ${s} held twice`);
      seen.add(s);
    }
  }
  assert.equal(seen.size, shards);
  for (const [shard, writers] of cluster.writers()) assert.equal(writers.length, 1, `shard ${shard}: ${writers.join(', ')}`);
}

describe('shard leases', () => {
  test('three nodes started together share 64 shards evenly within two rounds of joining; leases never lapse while renewed', async () => {
    const cluster = new Cluster(64, 3);
    await cluster.start();
    await cluster.run(TTL);
    assert.deepEqual(
      cluster.counts().sort((a, b) => a - b),
      [21, 21, 22],
    );
    assertDisjointAndComplete(cluster, 64, cluster.nodes);
    const before = cluster.nodes.map((n) => n.manager.stats.acquired);
    // Ten minutes: every lease renewed in time (every third of its duration), nothing lost or moved.
    await cluster.run(600_000, () => assert.equal(cluster.writers().size, 64));
    assert.deepEqual(
      cluster.nodes.map((n) => n.manager.stats.acquired),
      before,
    );
    assert.ok(cluster.nodes.every((n) => n.lost.length === 0 && n.errors.length === 0));
    // Renewal every lease_ttl/3 (between 0.8 and 1 of it): about 3 to 3.75 heartbeats per lease duration.
    const perNodePerTtl = cluster.table.calls.renew / 3 / ((600_000 + TTL) / TTL);
    assert.ok(perNodePerTtl >= 3 && perNodePerTtl <= 3.8, `renewals per node per lease_ttl: ${perNodePerTtl}`);
  });

  test('a node killed (SIGKILL): the survivors hold all its shards, evenly, within lease_ttl and two rounds, each under a new epoch', async () => {
    const cluster = new Cluster(1024, 4);
    await cluster.start();
    await cluster.run(TTL);
    const [a, b, c, d] = cluster.nodes as [Node, Node, Node, Node];
    const dLeases = d.manager.heldShards().map((shard) => ({ shard, epoch: d.manager.epochOf(shard)! }));
    assert.equal(dLeases.length, 256);
    const killedAt = cluster.db.now();
    d.kill();
    let allHeldAt: number | undefined;
    await cluster.run(3 * TTL, () => {
      if (allHeldAt === undefined && cluster.writers().size === 1024) allHeldAt = cluster.db.now();
    });
    assert.ok(allHeldAt !== undefined);
    const takeover = allHeldAt - killedAt;
    // d's last renewal was at most a round (lease_ttl/3) before the kill; survivors notice within a round of expiry.
    assert.ok(takeover <= TTL + (2 * TTL) / 3, `takeover after ${takeover} ms`);
    assert.ok(takeover >= TTL - TTL / 3, `not before the lease expired: ${takeover} ms`);
    assertDisjointAndComplete(cluster, 1024, [a, b, c]);
    assert.deepEqual(
      [a, b, c].map((n) => n.manager.heldShards().length).sort((x, y) => x - y),
      [341, 341, 342],
    );
    const newEpochs = new Map([a, b, c].flatMap((n) => n.acquired.map((l) => [l.shard, l.epoch] as const)));
    for (const l of dLeases) assert.equal(newEpochs.get(l.shard), l.epoch + 1, `shard ${l.shard}`);
    // Spread: each survivor took a share of the dead node's shards, not one of them all.
    for (const n of [a, b, c]) {
      const fromD = n.acquired.filter((l) => dLeases.some((x) => x.shard === l.shard)).length;
      assert.ok(fromD >= 80 && fromD <= 90, `${n.id} took ${fromD} of d's 256`);
    }
  });

  test('a graceful stop hands its shards over at once: taken within one round, not after lease_ttl', async () => {
    const cluster = new Cluster(64, 3);
    await cluster.start();
    await cluster.run(TTL);
    const c = cluster.nodes[2]!;
    const held = c.manager.heldShards();
    const stoppedAt = cluster.db.now();
    await c.manager.stop();
    assert.deepEqual(c.released, held, 'releasing() told before the release');
    assert.equal((await cluster.table.owners()).size, 64 - held.length);
    c.dead = true;
    let allHeldAt: number | undefined;
    await cluster.run(TTL, () => {
      if (allHeldAt === undefined && cluster.writers().size === 64) allHeldAt = cluster.db.now();
    });
    assert.ok(allHeldAt !== undefined && allHeldAt - stoppedAt <= TTL / 3 + STEP, `taken after ${allHeldAt === undefined ? 'never' : allHeldAt - stoppedAt} ms`);
    assert.deepEqual(
      cluster.counts().slice(0, 2),
      [32, 32],
    );
  });

  test('split brain: a node paused past its lease loses every shard to the others, its fence fails, it notices at once on resuming, and rejoins', async () => {
    const cluster = new Cluster(64, 3);
    await cluster.start();
    await cluster.run(TTL);
    const c = cluster.nodes[2]!;
    const old = c.manager.heldShards().map((shard) => ({ shard, epoch: c.manager.epochOf(shard)! }));
    c.paused = true; // SIGSTOP
    await cluster.run(2 * TTL, () => {
      for (const writers of cluster.writers().values()) assert.equal(writers.length, 1);
    });
    // c still believes it holds its shards; the table does not let it write them.
    assert.deepEqual(c.manager.heldShards(), old.map((l) => l.shard));
    for (const l of old) assert.equal(cluster.table.fenceAllows('c', l.shard, l.epoch), false);
    assert.deepEqual(
      cluster.counts().slice(0, 2),
      [32, 32],
    );
    const acquiredBefore = c.acquired.length;
    await cluster.resume(c); // SIGCONT: the overdue round runs now
    // Its own clock says the leases expired, or (the manual clock runs an overdue timer at its
    // deadline) the renewal finds them taken: either way all of them, before anything else.
    assert.equal(c.lost.length, 1);
    assert.deepEqual(c.lost[0]!.shards, old.map((l) => l.shard));
    assert.ok(['expired', 'taken'].includes(c.lost[0]!.reason));
    assert.deepEqual(c.manager.heldShards(), []);
    // It rejoins: the others release their excess, it takes its share again under new epochs.
    await cluster.run(3 * TTL, () => {
      for (const writers of cluster.writers().values()) assert.equal(writers.length, 1);
    });
    assert.deepEqual(
      cluster.counts().sort((x, y) => x - y),
      [21, 21, 22],
    );
    assertDisjointAndComplete(cluster, 64, cluster.nodes);
    assert.ok(c.acquired.length > acquiredBefore);
    for (const l of c.acquired.slice(acquiredBefore)) {
      const before = old.find((o) => o.shard === l.shard);
      if (before !== undefined) assert.ok(l.epoch > before.epoch);
    }
  });

  test('a refused fenced write: those shards are lost at once, the others kept', async () => {
    const cluster = new Cluster(8, 1);
    await cluster.start();
    await cluster.run(TTL);
    const a = cluster.nodes[0]!;
    assert.equal(a.manager.heldShards().length, 8);
    a.manager.noteRefused([3, 5, 99]);
    assert.deepEqual(a.lost, [{ shards: [3, 5], reason: 'refused' }]);
    assert.equal(a.manager.epochOf(3), undefined);
    assert.equal(a.manager.fence.epochOf(4), 1);
  });

  test('the database unreachable for longer than lease_ttl: the node drops its shards itself, then takes them again', async () => {
    const cluster = new Cluster(16, 1);
    await cluster.start();
    await cluster.run(TTL);
    const a = cluster.nodes[0]!;
    const table = cluster.table;
    const realRenew = table.renew.bind(table);
    const realHeartbeat = table.heartbeat.bind(table);
    const down = (): Promise<never> => Promise.reject(new ClusterError('CLUSTER_ERR_IO', 'leases: connection refused'));
    table.renew = down;
    table.heartbeat = down;
    await cluster.run(TTL + TTL / 3);
    assert.ok(a.errors.length >= 3);
    assert.deepEqual(a.lost, [{ shards: Array.from({ length: 16 }, (_, i) => i), reason: 'expired' }]);
    assert.deepEqual(a.manager.heldShards(), []);
    table.renew = realRenew;
    table.heartbeat = realHeartbeat;
    await cluster.run(TTL);
    assert.equal(a.manager.heldShards().length, 16);
    assert.ok(a.manager.epochOf(0)! >= 2);
  });

  test('two processes with one node id: the second is refused at start', async () => {
    const db = new ManualClock();
    const table = new MemoryLeaseTable(4, db);
    const listener = { acquired: () => {}, lost: () => {} };
    const first = new ShardLeaseManager({ nodeId: 'n', table, scheduler: new TimerScheduler(db), random: new SeededRandom(1), listener });
    await first.start();
    const second = new ShardLeaseManager({ nodeId: 'n', table, scheduler: new TimerScheduler(db), random: new SeededRandom(2), listener });
    await assert.rejects(second.start(), (e: unknown) => e instanceof ClusterError && e.code === 'CLUSTER_ERR_DUPLICATE_NODE');
    await first.stop();
    await second.start(); // the first left
  });

  test('a lease shorter than 300 ms is refused', () => {
    const db = new ManualClock();
    assert.throws(
      () =>
        new ShardLeaseManager({
          nodeId: 'n',
          table: new MemoryLeaseTable(4, db),
          scheduler: new TimerScheduler(db),
          random: new SeededRandom(1),
          listener: { acquired: () => {}, lost: () => {} },
          leaseTtlMs: 100,
        }),
      InvalidOptionError,
    );
  });
});
