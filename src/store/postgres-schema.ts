/**
 * The PostgreSQL store's schema (issue 16). It runs the SAME migrations as
 * the SQLite store (`MIGRATIONS` of sqlite-schema.ts, the same statements,
 * the same `schema_version` table and numbers), so a version means the same
 * tables in both; then its own append-only track for what only a shared
 * database needs, versioned the same way in `cluster_schema_version`:
 *
 * - a `shard` column on api_subscriptions and dialogs (shard-of.ts), indexed:
 *   a node that takes a shard over reads just that shard's rows;
 * - `shard_leases`: one row per shard, its owner, its epoch (the fencing
 *   token, raised at every change of owner) and the expiry of the lease;
 * - `cluster_nodes`: each node's heartbeat (how many nodes share the shards)
 *   and the random instance of the process using that node id (two live
 *   processes with one node id would both believe they hold its shards);
 * - `cluster_settings`: the shard count the `shard` columns were computed with;
 * - (version 2) `queue_events`: the recent status messages of each named
 *   queue with their event ids, for the status relay (src/cluster/status-relay.ts):
 *   a node delivers to its SSE clients what any node appended, and a client
 *   resumes with `Last-Event-ID` on any node. The ids come from
 *   `queues.event_id_high_water`, raised in the transaction that appends.
 *
 * Times in these tables are the database server's (`clock_timestamp()`), so
 * that nodes whose clocks disagree still agree on who holds what.
 */
import type { Migration } from './sqlite-schema.js';

export const CLUSTER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: [
      `CREATE TABLE cluster_schema_version (version BIGINT NOT NULL)`,
      `INSERT INTO cluster_schema_version (version) VALUES (0)`,
      `CREATE TABLE cluster_settings (shards INTEGER NOT NULL)`,
      `ALTER TABLE api_subscriptions ADD COLUMN shard INTEGER NOT NULL DEFAULT -1`,
      `CREATE INDEX api_subscriptions_by_shard ON api_subscriptions (shard)`,
      `ALTER TABLE dialogs ADD COLUMN shard INTEGER NOT NULL DEFAULT -1`,
      `CREATE INDEX dialogs_by_shard ON dialogs (shard)`,
      `CREATE TABLE shard_leases (
        shard INTEGER NOT NULL PRIMARY KEY,
        owner TEXT,
        epoch BIGINT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
      )`,
      `CREATE INDEX shard_leases_by_owner ON shard_leases (owner)`,
      `CREATE TABLE cluster_nodes (
        node_id TEXT NOT NULL PRIMARY KEY,
        instance TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        started_at TIMESTAMPTZ NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    statements: [
      // The payload is the status view as JSON text without its id (the row's id is the SSE id);
      // TEXT, not JSONB: it is written and read whole, never queried inside.
      `CREATE TABLE queue_events (
        queue TEXT NOT NULL,
        id BIGINT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (queue, id)
      )`,
    ],
  },
];

export const CLUSTER_SCHEMA_VERSION = CLUSTER_MIGRATIONS[CLUSTER_MIGRATIONS.length - 1]!.version;

/** Every table of the latest schema (the shared ones and the cluster's). */
export const POSTGRES_TABLES: readonly string[] = [
  'schema_version',
  'api_subscriptions',
  'queues',
  'dialogs',
  'cluster_schema_version',
  'cluster_settings',
  'shard_leases',
  'cluster_nodes',
  'queue_events',
];

/**
 * Key of the advisory lock that serializes migrations between nodes starting
 * at once ("PB2B" as a number, as SQLite's application_id).
 */
export const MIGRATION_LOCK_KEY = 0x50423242;
/** Key of the session lock a single (non-cluster) node holds: one daemon per database. */
export const EXCLUSIVE_LOCK_KEY = 0x50423243;

/** LISTEN/NOTIFY channel on which stores announce API subscription changes (cluster mode). */
export const SUBSCRIPTION_CHANNEL = 'pb2b_subscriptions';

/**
 * LISTEN/NOTIFY channel of the status relay: after appending to queue_events,
 * the transaction notifies `<last id>:<queue>` (or `*` when that would not
 * fit in a NOTIFY payload); readers then read the table.
 */
export const STATUS_CHANNEL = 'pb2b_status';
