import postgres from 'postgres';
import { redactedUrl } from '../store/postgres-store.js';
import { ClusterError } from './cluster-error.js';
import type { HeldLease, LeaseTable } from './lease-table.js';

type Row = Record<string, unknown>;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function held(rows: readonly Row[]): HeldLease[] {
  return rows.map((r) => ({ shard: Number(r.shard), epoch: Number(r.epoch) })).sort((a, b) => a.shard - b.shard);
}

/**
 * The lease table on the cluster's PostgreSQL database (tables
 * `shard_leases` and `cluster_nodes`, created by the PostgreSQL store's
 * migrations), on a connection of its own: a renewal never waits behind the
 * store's write transactions.
 *
 * Times are the server's `clock_timestamp()`. Lease rows are always locked in
 * shard order (renew and release lock them with FOR UPDATE in a sub-select,
 * the store's fenced writes FOR SHARE), so that no two of these deadlock;
 * acquisition skips rows another transaction has locked (SKIP LOCKED) rather
 * than waiting, and re-checks that each is free under its lock.
 */
export class PostgresLeaseTable implements LeaseTable {
  private closed = false;

  private constructor(
    private readonly sql: postgres.Sql,
    readonly shards: number,
    private readonly where: string,
  ) {}

  /** Connects to a database the PostgreSQL store has set up (it reads the shard count there). */
  static async open(url: string, options: { connectTimeoutSeconds?: number } = {}): Promise<PostgresLeaseTable> {
    const where = redactedUrl(url);
    const sql = postgres(url, {
      max: 1,
      onnotice: () => {},
      connect_timeout: options.connectTimeoutSeconds ?? 10,
      idle_timeout: 0,
      max_lifetime: null,
      connection: { application_name: 'presence-b2b leases' },
    });
    try {
      const [row] = await sql<Row[]>`SELECT shards FROM cluster_settings`;
      if (row === undefined) {
        throw new ClusterError('CLUSTER_ERR_IO', `leases in ${where}: cluster_settings is empty; open the PostgreSQL store first`);
      }
      return new PostgresLeaseTable(sql, Number(row.shards), where);
    } catch (error) {
      if (error instanceof ClusterError) {
        await sql.end({ timeout: 1 }).catch(() => {});
        throw error;
      }
      await sql.end({ timeout: 1 }).catch(() => {});
      throw new ClusterError('CLUSTER_ERR_IO', `leases in ${where}: cannot be read (${messageOf(error)}); open the PostgreSQL store first`, { cause: error });
    }
  }

  private async run<T>(what: string, statement: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    if (this.closed) throw new ClusterError('CLUSTER_ERR_CLOSED', `leases in ${this.where}: used after close`);
    try {
      return await statement(this.sql);
    } catch (error) {
      if (error instanceof ClusterError) throw error;
      throw new ClusterError('CLUSTER_ERR_IO', `leases in ${this.where}: ${what} failed (${messageOf(error)})`, { cause: error });
    }
  }

  heartbeat(nodeId: string, instance: string, ttlMs: number): Promise<string[]> {
    return this.run('heartbeat', async (sql) => {
      // Taken over only when it is ours or its process stopped beating.
      const mine = await sql<Row[]>`
        INSERT INTO cluster_nodes (node_id, instance, expires_at, started_at)
        VALUES (${nodeId}, ${instance}, clock_timestamp() + ${ttlMs} * interval '1 millisecond', clock_timestamp())
        ON CONFLICT (node_id) DO UPDATE SET instance = excluded.instance, expires_at = excluded.expires_at,
          started_at = CASE WHEN cluster_nodes.instance = excluded.instance THEN cluster_nodes.started_at ELSE excluded.started_at END
        WHERE cluster_nodes.instance = excluded.instance OR cluster_nodes.expires_at <= clock_timestamp()
        RETURNING node_id`;
      if (mine.length === 0) throw new ClusterError('CLUSTER_ERR_DUPLICATE_NODE', `node id ${nodeId} is in use by another running process (cluster.node_id must differ on each node)`);
      // Sorted in JavaScript: the same order as the memory table's, whatever the database's collation.
      return (await sql<Row[]>`SELECT node_id FROM cluster_nodes WHERE expires_at > clock_timestamp()`).map((r) => String(r.node_id)).sort();
    });
  }

  renew(nodeId: string, leases: readonly HeldLease[], ttlMs: number): Promise<HeldLease[]> {
    if (leases.length === 0) return Promise.resolve([]);
    return this.run('renewal', async (sql) =>
      held(
        await sql<Row[]>`
          UPDATE shard_leases SET expires_at = clock_timestamp() + ${ttlMs} * interval '1 millisecond'
          WHERE shard IN (
            SELECT l.shard FROM shard_leases l
            JOIN unnest(${leases.map((l) => l.shard)}::int[], ${leases.map((l) => l.epoch)}::bigint[]) AS h(shard, epoch)
              ON l.shard = h.shard AND l.epoch = h.epoch
            WHERE l.owner = ${nodeId} AND l.expires_at > clock_timestamp()
            ORDER BY l.shard FOR UPDATE)
          RETURNING shard, epoch`,
      ),
    );
  }

  free(): Promise<number[]> {
    return this.run('free shards', async (sql) =>
      (await sql<Row[]>`SELECT shard FROM shard_leases WHERE owner IS NULL OR expires_at <= clock_timestamp() ORDER BY shard`).map((r) => Number(r.shard)),
    );
  }

  acquire(nodeId: string, shards: readonly number[], ttlMs: number): Promise<HeldLease[]> {
    if (shards.length === 0) return Promise.resolve([]);
    return this.run('acquisition', async (sql) =>
      held(
        await sql<Row[]>`
          UPDATE shard_leases SET owner = ${nodeId}, epoch = epoch + 1, expires_at = clock_timestamp() + ${ttlMs} * interval '1 millisecond'
          WHERE shard IN (
            SELECT shard FROM shard_leases
            WHERE shard = ANY(${[...shards]}::int[]) AND (owner IS NULL OR expires_at <= clock_timestamp())
            ORDER BY shard FOR UPDATE SKIP LOCKED)
          RETURNING shard, epoch`,
      ),
    );
  }

  release(nodeId: string, leases: readonly HeldLease[]): Promise<number[]> {
    if (leases.length === 0) return Promise.resolve([]);
    return this.run('release', async (sql) =>
      held(
        await sql<Row[]>`
          UPDATE shard_leases SET owner = NULL, expires_at = '-infinity'
          WHERE shard IN (
            SELECT l.shard FROM shard_leases l
            JOIN unnest(${leases.map((l) => l.shard)}::int[], ${leases.map((l) => l.epoch)}::bigint[]) AS h(shard, epoch)
              ON l.shard = h.shard AND l.epoch = h.epoch
            WHERE l.owner = ${nodeId}
            ORDER BY l.shard FOR UPDATE)
          RETURNING shard, epoch`,
      ).map((l) => l.shard),
    );
  }

  leave(nodeId: string, instance: string): Promise<void> {
    return this.run('leave', async (sql) => {
      await sql`DELETE FROM cluster_nodes WHERE node_id = ${nodeId} AND instance = ${instance}`;
    });
  }

  owners(): Promise<Map<number, { owner: string; epoch: number }>> {
    return this.run('owners', async (sql) => {
      const rows = await sql<Row[]>`SELECT shard, owner, epoch FROM shard_leases WHERE owner IS NOT NULL AND expires_at > clock_timestamp() ORDER BY shard`;
      return new Map(rows.map((r) => [Number(r.shard), { owner: String(r.owner), epoch: Number(r.epoch) }]));
    });
  }

  /** Closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sql.end({ timeout: 5 }).catch(() => {});
  }
}
