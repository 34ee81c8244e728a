import type { Clock } from '../util/clock.js';
import { ClusterError } from './cluster-error.js';
import type { HeldLease, LeaseTable } from './lease-table.js';

interface LeaseRow {
  owner: string | undefined;
  epoch: number;
  expiresAt: number;
}

/**
 * The lease table in memory, on an injected clock: the model of
 * postgres-lease-table.ts (same rules, see lease-table.ts) for the unit tests
 * of the ShardLeaseManager, where time moves only when the test says so.
 * Every call settles in a microtask, as if the database answered at once.
 */
export class MemoryLeaseTable implements LeaseTable {
  private readonly rows: LeaseRow[];
  private readonly nodes = new Map<string, { instance: string; expiresAt: number }>();
  /** Calls made, by method (what a node costs the database). */
  readonly calls = { heartbeat: 0, renew: 0, free: 0, acquire: 0, release: 0, leave: 0 };

  constructor(
    readonly shards: number,
    private readonly clock: Clock,
  ) {
    this.rows = Array.from({ length: shards }, () => ({ owner: undefined, epoch: 0, expiresAt: Number.NEGATIVE_INFINITY }));
  }

  private live(row: LeaseRow): boolean {
    return row.owner !== undefined && row.expiresAt > this.clock.now();
  }

  async heartbeat(nodeId: string, instance: string, ttlMs: number): Promise<string[]> {
    this.calls.heartbeat++;
    const now = this.clock.now();
    const known = this.nodes.get(nodeId);
    if (known !== undefined && known.instance !== instance && known.expiresAt > now) {
      throw new ClusterError('CLUSTER_ERR_DUPLICATE_NODE', `node id ${nodeId} is in use by another running process`);
    }
    this.nodes.set(nodeId, { instance, expiresAt: now + ttlMs });
    const alive: string[] = [];
    for (const [id, n] of this.nodes) if (n.expiresAt > now) alive.push(id);
    return alive.sort();
  }

  async renew(nodeId: string, held: readonly HeldLease[], ttlMs: number): Promise<HeldLease[]> {
    this.calls.renew++;
    const renewed: HeldLease[] = [];
    for (const h of held) {
      const row = this.rows[h.shard];
      if (row === undefined || row.owner !== nodeId || row.epoch !== h.epoch || !this.live(row)) continue;
      row.expiresAt = this.clock.now() + ttlMs;
      renewed.push({ shard: h.shard, epoch: h.epoch });
    }
    return renewed;
  }

  async free(): Promise<number[]> {
    this.calls.free++;
    const out: number[] = [];
    this.rows.forEach((row, shard) => {
      if (!this.live(row)) out.push(shard);
    });
    return out;
  }

  async acquire(nodeId: string, shards: readonly number[], ttlMs: number): Promise<HeldLease[]> {
    this.calls.acquire++;
    const taken: HeldLease[] = [];
    for (const shard of [...new Set(shards)].sort((a, b) => a - b)) {
      const row = this.rows[shard];
      if (row === undefined || this.live(row)) continue;
      row.owner = nodeId;
      row.epoch++;
      row.expiresAt = this.clock.now() + ttlMs;
      taken.push({ shard, epoch: row.epoch });
    }
    return taken;
  }

  async release(nodeId: string, held: readonly HeldLease[]): Promise<number[]> {
    this.calls.release++;
    const released: number[] = [];
    for (const h of held) {
      const row = this.rows[h.shard];
      if (row === undefined || row.owner !== nodeId || row.epoch !== h.epoch) continue;
      row.owner = undefined;
      row.expiresAt = Number.NEGATIVE_INFINITY;
      released.push(h.shard);
    }
    return released;
  }

  async leave(nodeId: string, instance: string): Promise<void> {
    this.calls.leave++;
    if (this.nodes.get(nodeId)?.instance === instance) this.nodes.delete(nodeId);
  }

  async owners(): Promise<Map<number, { owner: string; epoch: number }>> {
    const out = new Map<number, { owner: string; epoch: number }>();
    this.rows.forEach((row, shard) => {
      if (this.live(row)) out.set(shard, { owner: row.owner!, epoch: row.epoch });
    });
    return out;
  }

  /** Whether a write by `nodeId` under `epoch` would pass the fence (what writeFencedDialogs checks). */
  fenceAllows(nodeId: string, shard: number, epoch: number): boolean {
    const row = this.rows[shard];
    return row !== undefined && row.owner === nodeId && row.epoch === epoch && this.live(row);
  }
}
