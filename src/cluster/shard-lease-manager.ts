import type { Random } from '../util/random.js';
import type { Timer, TimerScheduler } from '../util/timer-scheduler.js';
import { InvalidOptionError } from '../util/invalid-option-error.js';
import type { HeldLease, LeaseTable } from './lease-table.js';

/** The default lease duration (issue 16): a node that stops renewing loses its shards after it. */
export const DEFAULT_LEASE_TTL_MS = 15_000;
/** The shortest lease: a renewal (a third of it) must fit in several database round trips. */
export const MIN_LEASE_TTL_MS = 300;

/** Why shards were lost. */
export type ShardLossReason =
  /** Not renewed within the lease's duration by this node's own clock (paused, database unreachable). */
  | 'expired'
  /** The renewal found them held by another node, or expired, in the table. */
  | 'taken'
  /** A fenced write was refused for them. */
  | 'refused';

/** What the node does when its shards change hands. */
export interface ShardOwnershipListener {
  /** New leases: load these shards' subscriptions and dialogs, and resume them (the takeover). */
  acquired(leases: readonly HeldLease[]): void;
  /**
   * Shards this node no longer holds: drop their dialogs WITHOUT
   * unsubscribing them (the new owner resumes them) and write nothing more
   * for them (such a write would be refused anyway).
   */
  lost(shards: readonly number[], reason: ShardLossReason): void;
  /**
   * Shards about to be handed over (rebalance, graceful stop), while still
   * held: the last snapshots can still be written under their epochs.
   */
  releasing?(shards: readonly number[]): Promise<void>;
}

export interface ShardLeaseManagerOptions {
  /** This node's `cluster.node_id`. */
  nodeId: string;
  /** Random identity of this process, told apart from another one started with the same node id. */
  instance?: string;
  table: LeaseTable;
  /** Lease duration, default 15 s; renewed every third of it. */
  leaseTtlMs?: number;
  scheduler: TimerScheduler;
  random: Random;
  listener: ShardOwnershipListener;
  /** Told about a round that failed (database unreachable): the next round tries again. */
  onError?: (error: unknown) => void;
}

export interface ShardLeaseStats {
  rounds: number;
  failedRounds: number;
  acquired: number;
  lost: number;
  released: number;
}

/**
 * Holds this node's share of the shards through leases in a LeaseTable
 * (issue 16).
 *
 * Every round, about every `lease_ttl / 3` (between 0.8 and 1 times it, at
 * random, so that nodes drift apart rather than meet): a heartbeat, which
 * also says how many nodes are alive (N); a renewal of the leases held; then
 * toward its share (shards / N, one more for the first shards mod N nodes
 * in id order, so that the shares add up): free shards (released, or expired
 * because their node died) are acquired, a random choice among them, so that
 * survivors taking over a dead node's shards rarely want the same ones and
 * the load spreads evenly (a shard another node took first is simply not
 * got; up to three tries per round); a node over its share (another joined)
 * releases the excess, at most a third of its share per round, so that a
 * join moves shards in a few steps rather than in one burst.
 *
 * A node that has not renewed within `lease_ttl` by its own clock (paused,
 * cut from the database) considers every lease lost at its next round, before
 * doing anything else: the table's leases expired by then or will within a
 * round, and a lost lease is only ever taken again with a new epoch. A node
 * joins with a heartbeat only and starts acquiring one round later, so that
 * nodes started together see each other before they share.
 */
export class ShardLeaseManager {
  private readonly nodeId: string;
  private readonly instance: string;
  private readonly table: LeaseTable;
  private readonly ttl: number;
  private readonly scheduler: TimerScheduler;
  private readonly random: Random;
  private readonly listener: ShardOwnershipListener;
  private readonly onError: ((error: unknown) => void) | undefined;
  private readonly held = new Map<number, number>();
  /** Scheduler time of the start of the last renewal that succeeded (held leases run from then). */
  private renewedAt = Number.NEGATIVE_INFINITY;
  private timer: Timer | undefined;
  private current: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  private joined = false;
  private aliveNodes: readonly string[] = [];
  readonly stats: ShardLeaseStats = { rounds: 0, failedRounds: 0, acquired: 0, lost: 0, released: 0 };

  constructor(options: ShardLeaseManagerOptions) {
    const ttl = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    if (!Number.isFinite(ttl) || ttl < MIN_LEASE_TTL_MS) {
      throw new InvalidOptionError({ option: 'leaseTtlMs', message: `expected at least ${MIN_LEASE_TTL_MS} ms, got ${ttl}` }, 'ShardLeaseManager');
    }
    this.nodeId = options.nodeId;
    this.instance = options.instance ?? options.random.token(16);
    this.table = options.table;
    this.ttl = ttl;
    this.scheduler = options.scheduler;
    this.random = options.random;
    this.listener = options.listener;
    this.onError = options.onError;
  }

  /** Shards held now, ascending. */
  heldShards(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** The epoch this node holds `shard` at, or undefined (the DialogFence of the PostgreSQL store). */
  epochOf(shard: number): number | undefined {
    return this.held.get(shard);
  }

  /**
   * Whether this node may still act for `shard` right now: it holds the
   * lease and, by its own monotonic clock, renewed within the lease's
   * duration (a node resumed after a pause past its lease says no here
   * before its next round has even run: the self-fencing of roundBody, asked
   * at the moment of acting).
   */
  holdsNow(shard: number): boolean {
    return this.held.has(shard) && this.scheduler.clock.now() - this.renewedAt < this.ttl;
  }

  /** The fence for PostgresSubscriptionStore.writeFencedDialogs. */
  get fence(): { nodeId: string; epochOf(shard: number): number | undefined } {
    return { nodeId: this.nodeId, epochOf: (shard) => this.held.get(shard) };
  }

  /** Ids of the nodes alive at the last heartbeat, this one included, ascending. */
  get nodes(): readonly string[] {
    return this.aliveNodes;
  }

  /**
   * This node's share: shards / N, and one more for the first (shards mod N)
   * nodes in id order, so that the shares add up to exactly the shard count.
   */
  private share(): number {
    const n = Math.max(1, this.aliveNodes.length);
    const rank = Math.max(0, this.aliveNodes.indexOf(this.nodeId));
    return Math.floor(this.table.shards / n) + (rank < this.table.shards % n ? 1 : 0);
  }

  /** The first round now: a heartbeat (CLUSTER_ERR_DUPLICATE_NODE rejects here). Acquiring starts one round later. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.aliveNodes = await this.table.heartbeat(this.nodeId, this.instance, this.ttl);
    this.schedule();
  }

  /** The lease table refused a fenced write for these shards: they are lost. */
  noteRefused(shards: readonly number[]): void {
    const gone = shards.filter((s) => this.held.delete(s));
    if (gone.length > 0) this.loseNow(gone, 'refused');
  }

  /**
   * Runs a round now (tests; a takeover that should not wait): the same as
   * the timer's, after the one in progress.
   */
  async runRound(): Promise<void> {
    if (this.current !== undefined) await this.current;
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = undefined;
    await this.round();
  }

  /**
   * Graceful stop: hands every shard over at once (`releasing`, then the
   * leases released, free for the others at their next round) and leaves
   * the node table. A database that fails here leaves the leases to expire.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    if (this.current !== undefined) await this.current.catch(() => {});
    const leases = this.leases();
    try {
      if (leases.length > 0) {
        await this.listener.releasing?.(leases.map((l) => l.shard));
        const released = await this.table.release(this.nodeId, leases);
        this.stats.released += released.length;
      }
      await this.table.leave(this.nodeId, this.instance);
    } catch (error) {
      this.onError?.(error);
    } finally {
      this.held.clear();
    }
  }

  private leases(): HeldLease[] {
    return this.heldShards().map((shard) => ({ shard, epoch: this.held.get(shard)! }));
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = (this.ttl / 3) * (0.8 + 0.2 * this.random.next());
    this.timer = this.scheduler.after(delay, () => {
      this.timer = undefined;
      void this.round();
    });
  }

  private loseNow(shards: number[], reason: ShardLossReason): void {
    this.stats.lost += shards.length;
    this.listener.lost(shards, reason);
  }

  private round(): Promise<void> {
    const run = async (): Promise<void> => {
      this.stats.rounds++;
      try {
        await this.roundBody();
      } catch (error) {
        this.stats.failedRounds++;
        this.onError?.(error);
      } finally {
        this.current = undefined;
        if (this.timer === undefined) this.schedule();
      }
    };
    this.current = run();
    return this.current;
  }

  private async roundBody(): Promise<void> {
    const clock = this.scheduler.clock;
    const startedAt = clock.now();
    // Self-fencing: leases not renewed for a whole lease duration are gone, whatever the table says.
    if (this.held.size > 0 && startedAt - this.renewedAt >= this.ttl) {
      const all = this.heldShards();
      this.held.clear();
      this.loseNow(all, 'expired');
    }
    this.aliveNodes = await this.table.heartbeat(this.nodeId, this.instance, this.ttl);
    if (this.stopped) return;
    const mine = this.leases();
    if (mine.length > 0) {
      const renewed = await this.table.renew(this.nodeId, mine, this.ttl);
      if (this.stopped) return;
      const kept = new Set(renewed.map((l) => l.shard));
      const gone = mine.filter((l) => !kept.has(l.shard) && this.held.get(l.shard) === l.epoch).map((l) => l.shard);
      for (const s of gone) this.held.delete(s);
      if (gone.length > 0) this.loseNow(gone, 'taken');
    }
    this.renewedAt = startedAt;
    if (!this.joined) {
      this.joined = true;
      return;
    }
    const fair = this.share();
    if (this.held.size < fair) await this.acquireUpTo(fair);
    else if (this.held.size > fair) await this.releaseDownTo(fair);
  }

  private async acquireUpTo(fair: number): Promise<void> {
    for (let attempt = 0; attempt < 3 && this.held.size < fair && !this.stopped; attempt++) {
      const free = await this.table.free();
      if (free.length === 0) return;
      const wanted = this.sample(free, fair - this.held.size);
      const taken = await this.table.acquire(this.nodeId, wanted, this.ttl);
      if (this.stopped) {
        // Stopping meanwhile: give them back at once rather than leave them to expire.
        await this.table.release(this.nodeId, taken);
        return;
      }
      for (const l of taken) this.held.set(l.shard, l.epoch);
      if (taken.length > 0) {
        this.stats.acquired += taken.length;
        this.listener.acquired(taken);
      }
      if (taken.length === wanted.length) return;
    }
  }

  private async releaseDownTo(fair: number): Promise<void> {
    const excess = Math.min(this.held.size - fair, Math.max(1, Math.ceil(fair / 3)));
    const shards = this.sample(this.heldShards(), excess).sort((a, b) => a - b);
    await this.listener.releasing?.(shards);
    const leases = shards.filter((s) => this.held.has(s)).map((shard) => ({ shard, epoch: this.held.get(shard)! }));
    for (const l of leases) this.held.delete(l.shard);
    const released = await this.table.release(this.nodeId, leases);
    this.stats.released += released.length;
  }

  /** `count` distinct values of `from`, chosen at random (partial Fisher–Yates). */
  private sample(from: readonly number[], count: number): number[] {
    const pool = [...from];
    const n = Math.min(count, pool.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.random.next() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, n);
  }
}
