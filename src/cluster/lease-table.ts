/**
 * The shared table of shard leases a cluster's nodes agree through (issue 16),
 * as the ShardLeaseManager uses it. Implemented on PostgreSQL
 * (postgres-lease-table.ts) and in memory (memory-lease-table.ts, the model
 * the unit tests drive with an injected clock).
 *
 * Rules every implementation keeps, each call atomic:
 * - A lease is held by one node at one epoch until it expires, `ttl` after
 *   its last acquisition or renewal, by the table's clock (the database
 *   server's: nodes whose clocks disagree still agree on who holds what).
 * - An expired lease is lost: it cannot be renewed, only acquired again, and
 *   every acquisition raises the shard's epoch. The epoch is the fencing
 *   token: a write made under an older epoch is refused (the store's
 *   writeFencedDialogs checks owner, epoch and expiry in its transaction).
 * - Two nodes acquiring the same shard at once: one gets it, the other not.
 */

/** A shard held at an epoch. */
export interface HeldLease {
  readonly shard: number;
  readonly epoch: number;
}

export interface LeaseTable {
  /** Number of shards (fixed when the database was set up). */
  readonly shards: number;
  /**
   * Records that `nodeId` (process `instance`) is alive for `ttlMs` more, and
   * returns the ids of the nodes alive, itself included, in ascending order. A live heartbeat of
   * the same node id from another instance: ClusterError
   * CLUSTER_ERR_DUPLICATE_NODE, nothing changed.
   */
  heartbeat(nodeId: string, instance: string, ttlMs: number): Promise<string[]>;
  /**
   * Extends, by `ttlMs` from now, each lease of `held` that `nodeId` still
   * holds at that epoch and that has not expired; returns those (the others
   * are lost).
   */
  renew(nodeId: string, held: readonly HeldLease[], ttlMs: number): Promise<HeldLease[]>;
  /** Shards that nobody holds: never held, released, or expired. */
  free(): Promise<number[]>;
  /**
   * Takes each shard of `shards` that is still free, raising its epoch;
   * returns those taken with their new epochs. A shard another node is
   * taking at the same moment is skipped, not waited for.
   */
  acquire(nodeId: string, shards: readonly number[], ttlMs: number): Promise<HeldLease[]>;
  /** Gives up each lease of `held` that `nodeId` holds at that epoch (free at once); returns the shards released. */
  release(nodeId: string, held: readonly HeldLease[]): Promise<number[]>;
  /** Forgets the node's heartbeat (a graceful stop): the others count one node less at once. */
  leave(nodeId: string, instance: string): Promise<void>;
  /** The owner and epoch of every shard whose lease has not expired (for tests and /healthz). */
  owners(): Promise<Map<number, { owner: string; epoch: number }>>;
}
