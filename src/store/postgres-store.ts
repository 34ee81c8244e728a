import postgres from 'postgres';
import { checkText } from './record-checks.js';
import { CLUSTER_MIGRATIONS, CLUSTER_SCHEMA_VERSION, EXCLUSIVE_LOCK_KEY, MIGRATION_LOCK_KEY, POSTGRES_TABLES, SUBSCRIPTION_CHANNEL } from './postgres-schema.js';
import { appendQueueEventsTx, type QueueEventInput } from './postgres-queue-events.js';
import { DEFAULT_SHARDS, shardOf, shardOfDialogKey } from './shard-of.js';
import { MIGRATIONS, SCHEMA_VERSION } from './sqlite-schema.js';
import { copyApiSubscription, type StoredApiSubscription } from './stored-api-subscription.js';
import { copyDialog, type StoredDialog } from './stored-dialog.js';
import { copyHighWater, copyQueue, type QueueHighWater, type StoredQueue } from './stored-queue.js';
import { StoreError, type StoreErrorCode } from './store-error.js';
import { StoredRowReader } from './stored-row-reader.js';
import type { DialogWriteBatch, StoreContents, SubscriptionStore } from './subscription-store.js';

type Sql = postgres.Sql;
type Tx = postgres.TransactionSql;
type Row = Record<string, unknown>;

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (libpq-style URL). */
  url: string;
  /** Shard count the `shard` columns are computed with (default 1024); must match the database's. */
  shards?: number;
  /**
   * One daemon per database (default true): a session advisory lock is held
   * while the store is open, and a second daemon stops at start with
   * STORE_ERR_LOCKED, as with a SQLite file. A cluster's nodes share the
   * database and pass false.
   */
  exclusive?: boolean;
  /**
   * Announce every API subscription created or deleted on the
   * `pb2b_subscriptions` channel, in the same transaction (cluster mode: the
   * node owning its shard hears it and makes or ends the dialog).
   */
  announce?: boolean;
  /** Seconds to wait for a connection (default 10). */
  connectTimeoutSeconds?: number;
}

/**
 * Who may write which shard's dialogs: the node and, per shard it holds, the
 * epoch of its lease (issue 16). A write for a shard whose lease row does
 * not name this node at this epoch is refused.
 */
export interface DialogFence {
  readonly nodeId: string;
  /** The epoch this node holds the shard at, or undefined when it does not hold it. */
  epochOf(shard: number): number | undefined;
}

/** What a fenced write did: the shards it refused (their rows untouched) and the rows written. */
export interface FencedWriteResult {
  readonly refusedShards: number[];
  readonly written: number;
  readonly refused: number;
}

/** An API subscription change announced on SUBSCRIPTION_CHANNEL. */
export interface SubscriptionAnnouncement {
  readonly op: 'create' | 'delete';
  readonly id: string;
  readonly shard: number;
}

interface PendingChange {
  apply(tx: Tx): Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** The URL without its password, for messages and /healthz. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return 'code' in error && typeof error.code === 'string' ? `${error.code}: ${error.message}` : error.message;
  return String(error);
}

function count(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : Number.NaN;
}

/**
 * The PostgreSQL store (issue 16): the same contract as the SQLite store
 * (test/support/store-suite.ts), on a database that several nodes share.
 *
 * One connection writes, in call order: the changes asked for during one
 * turn of the event loop go into one transaction (group commit, as SQLite's),
 * each promise resolving once it committed (`synchronous_commit` as the
 * server has it: on by default, so an acknowledged change survives a crash
 * of the database server too). Reads (load, loadShards) queue behind the
 * writes asked before them. Client: `postgres` (postgres.js), see docs/cluster.md.
 *
 * Beyond the interface, for the cluster: each row carries its shard;
 * `loadShards` reads the rows of some shards; `writeFencedDialogs` writes
 * snapshots only for shards whose lease this node holds at the given epoch
 * (the check and the write in one transaction, the lease rows locked FOR
 * SHARE, so a takeover that commits first makes the write refused, and one
 * that comes later waits for it).
 */
export class PostgresSubscriptionStore implements SubscriptionStore {
  readonly kind = 'postgres';
  readonly location: string;
  readonly shards: number;
  /** Transactions committed, changes they carried, transactions that failed. */
  readonly stats = { transactions: 0, changes: 0, failures: 0, fencedRefusals: 0 };
  private pending: PendingChange[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  /** Group transactions started and not yet settled: while one is, new changes wait and join the next group. */
  private groupsInFlight = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly rowReader: StoredRowReader;

  private constructor(
    private readonly sql: Sql,
    url: string,
    shards: number,
    private readonly announce: boolean,
  ) {
    this.location = redactedUrl(url);
    this.shards = shards;
    this.rowReader = new StoredRowReader(this.location, count);
  }

  /**
   * Connects, checks that the database is empty or ours (schema versions,
   * shard count), runs missing migrations (one transaction, serialized
   * between nodes by an advisory lock) and, when `exclusive`, takes the
   * one-daemon lock. A StoreError naming the database otherwise:
   * STORE_ERR_OPEN (cannot connect), _FOREIGN, _NEWER_SCHEMA, _CORRUPT
   * (another shard count, or damaged version rows), _LOCKED.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresSubscriptionStore> {
    const shards = options.shards ?? DEFAULT_SHARDS;
    const where = redactedUrl(options.url);
    let sql: Sql;
    try {
      sql = postgres(options.url, {
        max: 1,
        onnotice: () => {},
        connect_timeout: options.connectTimeoutSeconds ?? 10,
        idle_timeout: 0,
        max_lifetime: null,
        connection: { application_name: 'presence-b2b' },
      });
    } catch (error) {
      throw new StoreError('STORE_ERR_OPEN', `store ${where}: not a usable PostgreSQL URL (${messageOf(error)})`, { cause: error, file: where });
    }
    try {
      try {
        await sql`SELECT 1`;
      } catch (error) {
        throw new StoreError('STORE_ERR_OPEN', `store ${where}: cannot connect (${messageOf(error)})`, { cause: error, file: where });
      }
      if (options.exclusive ?? true) {
        const [row] = await sql<Row[]>`SELECT pg_try_advisory_lock(${EXCLUSIVE_LOCK_KEY}) AS locked`;
        if (row?.locked !== true) {
          throw new StoreError('STORE_ERR_LOCKED', `store ${where}: in use by another presence-b2b (a single node holds the database; a cluster sets cluster.node_id on each node)`, {
            file: where,
          });
        }
      }
      await migrate(sql, where, shards);
    } catch (error) {
      await sql.end({ timeout: 1 }).catch(() => {});
      if (error instanceof StoreError) throw error;
      throw new StoreError('STORE_ERR_OPEN', `store ${where}: cannot be opened (${messageOf(error)})`, { cause: error, file: where });
    }
    return new PostgresSubscriptionStore(sql, options.url, shards, options.announce ?? false);
  }

  load(): Promise<StoreContents> {
    return this.read(async (sql) => {
      const apiSubscriptions = (await sql<Row[]>`SELECT id, record, subscriber, package, queue, created_at FROM api_subscriptions ORDER BY created_at, id`).map((r) =>
        this.rowReader.apiSubscription(r),
      );
      const queues = (await sql<Row[]>`SELECT name, event_id_high_water FROM queues ORDER BY name`).map((r) => this.rowReader.queue(r));
      const dialogs = (await sql<Row[]>`SELECT * FROM dialogs ORDER BY dialog_key`).map((r) => this.rowReader.dialog(r));
      return { apiSubscriptions, queues, dialogs };
    });
  }

  /** The API subscriptions and dialog snapshots of `shards` (a takeover), in load order. */
  loadShards(shards: readonly number[]): Promise<{ apiSubscriptions: StoredApiSubscription[]; dialogs: StoredDialog[] }> {
    const list = [...shards];
    return this.read(async (sql) => {
      const apiSubscriptions = await this.apiSubscriptionsOfShards(sql, list);
      const dialogs = (await sql<Row[]>`SELECT * FROM dialogs WHERE shard = ANY(${list}::int[]) ORDER BY dialog_key`).map((r) => this.rowReader.dialog(r));
      return { apiSubscriptions, dialogs };
    });
  }

  /**
   * How many API subscriptions each of `shards` holds (shards with none are
   * absent): what a holder compares with what it makes, to find a creation
   * whose announcement it never acted on (ClusterNode's reconciliation).
   */
  countApiSubscriptionsByShard(shards: readonly number[]): Promise<Map<number, number>> {
    const list = [...shards];
    return this.read(async (sql) => {
      const rows = await sql<Row[]>`SELECT shard, count(*)::int AS n FROM api_subscriptions WHERE shard = ANY(${list}::int[]) GROUP BY shard`;
      return new Map(rows.map((r) => [Number(r.shard), Number(r.n)]));
    });
  }

  /** The API subscriptions of `shards`, in load order (no dialogs: loadShards reads both). */
  loadApiSubscriptionsOfShards(shards: readonly number[]): Promise<StoredApiSubscription[]> {
    const list = [...shards];
    return this.read((sql) => this.apiSubscriptionsOfShards(sql, list));
  }

  private async apiSubscriptionsOfShards(sql: Sql, list: number[]): Promise<StoredApiSubscription[]> {
    return (await sql<Row[]>`SELECT id, record, subscriber, package, queue, created_at FROM api_subscriptions WHERE shard = ANY(${list}::int[]) ORDER BY created_at, id`).map((r) =>
      this.rowReader.apiSubscription(r),
    );
  }

  /** The API subscriptions of `ids` that are stored (one read for a batch of announcements), in load order. */
  getApiSubscriptions(ids: readonly string[]): Promise<StoredApiSubscription[]> {
    const list = [...ids];
    return this.read(async (sql) =>
      (await sql<Row[]>`SELECT id, record, subscriber, package, queue, created_at FROM api_subscriptions WHERE id = ANY(${list}::text[]) ORDER BY created_at, id`).map((r) =>
        this.rowReader.apiSubscription(r),
      ),
    );
  }

  /** One API subscription by id (any node may be asked about any subscription). */
  getApiSubscription(id: string): Promise<StoredApiSubscription | undefined> {
    return this.read(async (sql) => {
      const [row] = await sql<Row[]>`SELECT id, record, subscriber, package, queue, created_at FROM api_subscriptions WHERE id = ${id}`;
      return row === undefined ? undefined : this.rowReader.apiSubscription(row);
    });
  }

  createApiSubscription(subscription: StoredApiSubscription): Promise<void> {
    return this.enqueue(
      () => copyApiSubscription(subscription),
      async (tx, s) => {
        const shard = shardOf(s.package, s.record, s.subscriber, this.shards);
        // The announcement rides on the insert (one round trip, not two), and only when a row was inserted.
        const announcement = this.announce ? JSON.stringify({ op: 'create', id: s.id, shard } satisfies SubscriptionAnnouncement) : null;
        const rows = await tx<Row[]>`
          WITH inserted AS (
            INSERT INTO api_subscriptions (id, record, subscriber, package, queue, created_at, shard)
            VALUES (${s.id}, ${s.record}, ${s.subscriber}, ${s.package}, ${s.queue}, ${s.createdAt}, ${shard})
            ON CONFLICT (id) DO NOTHING RETURNING id)
          SELECT id, CASE WHEN ${announcement}::text IS NULL THEN NULL ELSE pg_notify(${SUBSCRIPTION_CHANNEL}, ${announcement}::text) END AS announced
          FROM inserted`;
        if (rows.length === 0) return new StoreError('STORE_ERR_DUPLICATE', `API subscription ${s.id} is stored already`, { file: this.location });
        return undefined;
      },
    );
  }

  deleteApiSubscription(id: string): Promise<boolean> {
    return this.enqueue(
      () => checkText(id, 'id'),
      async (tx, key) => {
        const rows = await tx<Row[]>`DELETE FROM api_subscriptions WHERE id = ${key} RETURNING shard`;
        if (rows.length > 0 && this.announce) await this.announceChange(tx, { op: 'delete', id: key, shard: Number(rows[0]!.shard) });
        return rows.length > 0;
      },
    );
  }

  createQueue(queue: StoredQueue): Promise<void> {
    return this.enqueue(
      () => copyQueue(queue),
      async (tx, q) => {
        await tx`INSERT INTO queues (name, event_id_high_water) VALUES (${q.name}, ${q.eventIdHighWater}) ON CONFLICT (name) DO NOTHING`;
      },
    );
  }

  deleteQueue(name: string): Promise<boolean> {
    return this.enqueue(
      () => checkText(name, 'name'),
      async (tx, n) => {
        const removed = await tx<Row[]>`DELETE FROM api_subscriptions WHERE queue = ${n} RETURNING id, shard`;
        if (this.announce) for (const r of removed) await this.announceChange(tx, { op: 'delete', id: String(r.id), shard: Number(r.shard) });
        await tx`DELETE FROM queue_events WHERE queue = ${n}`;
        return (await tx`DELETE FROM queues WHERE name = ${n}`).count > 0;
      },
    );
  }

  raiseQueueHighWater(marks: readonly QueueHighWater[]): Promise<void> {
    return this.enqueue(
      () => marks.map(copyHighWater),
      async (tx, copies) => {
        for (const m of copies) {
          await tx`
            INSERT INTO queues (name, event_id_high_water) VALUES (${m.name}, ${m.eventId})
            ON CONFLICT (name) DO UPDATE SET event_id_high_water = GREATEST(queues.event_id_high_water, excluded.event_id_high_water)`;
        }
      },
    );
  }

  /**
   * The status relay's append (src/cluster/status-relay.ts): stores status
   * messages in `queue_events` with ids taken from their queues' high-water
   * marks, in the next group transaction, and NOTIFYs each queue's newest id
   * on STATUS_CHANNEL; resolves with the ids (in the order given) once
   * committed. Ids of one queue are consecutive, above every id issued
   * before on any node, and committed in id order (postgres-queue-events.ts
   * says why). Older rows are trimmed: the `keep` before this append stay, and all of it.
   */
  appendQueueEvents(events: readonly QueueEventInput[], keep: number): Promise<number[]> {
    return this.enqueue(
      () => {
        if (!Number.isSafeInteger(keep) || keep < 1) throw new StoreError('STORE_ERR_INVALID', `keep: expected a whole number ≥ 1, got ${String(keep)}`, { file: this.location });
        return events.map((e) => ({ queue: checkText(e.queue, 'queue'), payload: checkText(e.payload, 'payload') }));
      },
      (tx, copies) => appendQueueEventsTx(tx, copies, keep),
    );
  }

  writeDialogs(batch: DialogWriteBatch): Promise<void> {
    return this.enqueue(
      () => ({ upserts: (batch.upserts ?? []).map(copyDialog), deletes: (batch.deletes ?? []).map((k) => checkText(k, 'key')) }),
      async (tx, { upserts, deletes }) => {
        await this.upsertDialogs(tx, upserts);
        await this.deleteDialogs(tx, deletes);
      },
    );
  }

  /**
   * writeDialogs for a cluster node: the rows of a shard are written only
   * when `fence.nodeId` holds its unexpired lease at `fence.epochOf(shard)`, checked in
   * the same transaction with the lease rows locked (FOR SHARE). The rows of
   * the other shards are left as they are (the new owner's), and their shards
   * are returned: the caller has lost them.
   */
  writeFencedDialogs(batch: DialogWriteBatch, fence: DialogFence): Promise<FencedWriteResult> {
    return this.enqueue(
      () => ({ upserts: (batch.upserts ?? []).map(copyDialog), deletes: (batch.deletes ?? []).map((k) => checkText(k, 'key')) }),
      async (tx, { upserts, deletes }) => {
        const wanted = new Map<number, number | undefined>();
        const shardOfKey = (key: string): number => shardOfDialogKey(key, this.shards);
        for (const d of upserts) wanted.set(shardOfKey(d.key), undefined);
        for (const k of deletes) wanted.set(shardOfKey(k), undefined);
        for (const shard of wanted.keys()) wanted.set(shard, fence.epochOf(shard));
        const asked = [...wanted.keys()].sort((a, b) => a - b);
        const held = new Map<number, number>();
        if (asked.length > 0) {
          // In shard order, as every lease update locks them: no deadlock between the two.
          const rows = await tx<Row[]>`
            SELECT shard, epoch FROM shard_leases
            WHERE shard = ANY(${asked}::int[]) AND owner = ${fence.nodeId} AND expires_at > clock_timestamp() ORDER BY shard FOR SHARE`;
          for (const r of rows) held.set(Number(r.shard), count(r.epoch));
        }
        const allowed = (shard: number): boolean => {
          const mine = wanted.get(shard);
          return mine !== undefined && held.get(shard) === mine;
        };
        const okUpserts = upserts.filter((d) => allowed(shardOfKey(d.key)));
        const okDeletes = deletes.filter((k) => allowed(shardOfKey(k)));
        await this.upsertDialogs(tx, okUpserts);
        await this.deleteDialogs(tx, okDeletes);
        const refusedShards = asked.filter((s) => !allowed(s));
        const refused = upserts.length + deletes.length - okUpserts.length - okDeletes.length;
        return { refusedShards, written: okUpserts.length + okDeletes.length, refused } satisfies FencedWriteResult;
      },
    ).then((result) => {
      // Counted once committed (a group that is retried runs this change's statements twice).
      this.stats.fencedRefusals += result.refused;
      return result;
    });
  }

  /** Finishes what is pending, then closes the connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.flushNow();
      await this.chain.catch(() => {});
      this.closed = true;
      await this.sql.end({ timeout: 5 }).catch(() => {});
    })();
    return this.closing;
  }

  // ------------------------------------------------------------------ internals

  private async announceChange(tx: Tx, change: SubscriptionAnnouncement): Promise<void> {
    await tx`SELECT pg_notify(${SUBSCRIPTION_CHANNEL}, ${JSON.stringify(change)})`;
  }

  private async upsertDialogs(tx: Tx, upserts: readonly StoredDialog[]): Promise<void> {
    if (upserts.length === 0) return;
    // One statement for the batch: a column per array (unnest keeps them aligned).
    const col = <T>(f: (d: StoredDialog) => T): T[] => upserts.map(f);
    await tx`
      INSERT INTO dialogs (dialog_key, package, record, subscriber, call_id, local_tag, remote_tag, local_uri, remote_uri,
                           local_cseq, remote_cseq, route_set, remote_target, contact, expires_at, shard)
      SELECT * FROM unnest(
        ${col((d) => d.key)}::text[], ${col((d) => d.package)}::text[], ${col((d) => d.record)}::text[], ${col((d) => d.subscriber)}::text[],
        ${col((d) => d.callId)}::text[], ${col((d) => d.localTag)}::text[], ${col((d) => d.remoteTag)}::text[],
        ${col((d) => d.localUri)}::text[], ${col((d) => d.remoteUri)}::text[], ${col((d) => d.localCSeq)}::bigint[],
        ${col((d) => d.remoteCSeq ?? null)}::bigint[], ${col((d) => JSON.stringify(d.routeSet))}::text[],
        ${col((d) => d.remoteTarget)}::text[], ${col((d) => d.contact)}::text[], ${col((d) => d.expiresAt)}::bigint[],
        ${col((d) => shardOfDialogKey(d.key, this.shards))}::int[])
      ON CONFLICT (dialog_key) DO UPDATE SET
        package = excluded.package, record = excluded.record, subscriber = excluded.subscriber,
        call_id = excluded.call_id, local_tag = excluded.local_tag, remote_tag = excluded.remote_tag,
        local_uri = excluded.local_uri, remote_uri = excluded.remote_uri, local_cseq = excluded.local_cseq,
        remote_cseq = excluded.remote_cseq, route_set = excluded.route_set, remote_target = excluded.remote_target,
        contact = excluded.contact, expires_at = excluded.expires_at, shard = excluded.shard`;
  }

  private async deleteDialogs(tx: Tx, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await tx`DELETE FROM dialogs WHERE dialog_key = ANY(${[...keys]}::text[])`;
  }

  private closedError(): StoreError {
    return new StoreError('STORE_ERR_CLOSED', `store ${this.location} is closed`, { file: this.location });
  }

  /** A read, after every write asked before it. */
  private read<T>(run: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.closed || this.closing !== undefined) return Promise.reject(this.closedError());
    this.flushNow();
    const result = this.chain.then(
      () => run(this.sql),
      () => run(this.sql),
    );
    this.chain = result.catch(() => {});
    return result.catch((error: unknown) => {
      if (error instanceof StoreError) throw error;
      throw new StoreError('STORE_ERR_IO', `store ${this.location}: read failed (${messageOf(error)})`, { cause: error, file: this.location });
    });
  }

  /**
   * Queues one change: `prepare` runs now (validation and copy: a bad record
   * is refused at once), `apply` in the next group transaction. `apply` may
   * return a StoreError for a refusal of its own (a duplicate) that does not
   * abort the other changes of the group.
   */
  private enqueue<P, R>(prepare: () => P, apply: (tx: Tx, prepared: P) => Promise<R>): Promise<Exclude<R, StoreError>> {
    if (this.closed || this.closing !== undefined) return Promise.reject(this.closedError());
    let prepared: P;
    try {
      prepared = prepare();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Exclude<R, StoreError>>((resolvePromise, rejectPromise) => {
      this.pending.push({ apply: (tx) => apply(tx, prepared), resolve: resolvePromise as (value: unknown) => void, reject: rejectPromise });
      // setImmediate, not a microtask: requests parsed in the same I/O phase join the transaction.
      // While a group is in flight the next one gathers: its transaction could not start before
      // (one connection, in order), and one transaction for all of them costs one commit, one fsync and
      // four round trips instead of that many per POST (measured in docs/cluster.md §9).
      if (this.groupsInFlight === 0) this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    this.scheduled ??= setImmediate(() => {
      this.scheduled = undefined;
      this.flushNow();
    });
  }

  /** Starts the group transaction of everything pending (behind the ones before it). */
  private flushNow(): void {
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    const changes = this.pending;
    if (changes.length === 0) return;
    this.pending = [];
    const run = async (): Promise<void> => {
      const failure = await this.commitGroup(changes);
      if (failure === undefined) return;
      if (changes.length === 1) {
        changes[0]!.reject(failure);
        return;
      }
      // One change the database refused (a row over an index's size limit, say) must not take the
      // others of its turn along: each again in a transaction of its own, still in call order.
      for (const change of changes) {
        const alone = await this.commitGroup([change]);
        if (alone !== undefined) change.reject(alone);
      }
    };
    const settled = (): void => {
      this.groupsInFlight--;
      // What gathered meanwhile goes as the next group (a read asked meanwhile has flushed it already).
      if (this.groupsInFlight === 0 && this.pending.length > 0) this.scheduleFlush();
    };
    this.groupsInFlight++;
    this.chain = this.chain.then(run, run).then(settled, settled);
  }

  /**
   * Applies `changes` in one transaction. Committed: each promise settles
   * with its own result, and undefined is returned. Rolled back: nothing is
   * settled, the error is returned (for the caller to settle or retry).
   */
  private async commitGroup(changes: readonly PendingChange[]): Promise<StoreError | undefined> {
    let results: unknown[];
    try {
      results = await this.sql.begin(async (tx) => {
        const out: unknown[] = [];
        // One after the other: a change's statements all come before the next change's.
        for (const change of changes) out.push(await change.apply(tx));
        return out;
      });
    } catch (error) {
      this.stats.failures++;
      return error instanceof StoreError
        ? error
        : new StoreError('STORE_ERR_IO', `store ${this.location}: write failed, nothing of it was stored (${messageOf(error)})`, { cause: error, file: this.location });
    }
    this.stats.transactions++;
    this.stats.changes += changes.length;
    changes.forEach((change, i) => {
      const result = results[i];
      if (result instanceof StoreError) change.reject(result);
      else change.resolve(result);
    });
    return undefined;
  }
}

/** The version in a one-row version table, or a StoreError. */
async function versionOf(tx: Tx, table: string, where: string): Promise<number> {
  const rows = await tx.unsafe<Row[]>(`SELECT version FROM ${table}`);
  const version = rows.length === 1 ? count(rows[0]!.version) : Number.NaN;
  if (Number.isNaN(version) || version < 0) {
    throw new StoreError('STORE_ERR_CORRUPT', `store ${where}: ${table} holds ${rows.length} rows instead of one version number; left untouched`, { file: where });
  }
  return version;
}

function refuse(code: StoreErrorCode, where: string, why: string): StoreError {
  return new StoreError(code, `store ${where}: ${why}; left untouched`, { file: where });
}

/**
 * Checks and migrates the database in one transaction, serialized between
 * nodes by an advisory lock: an empty database gets the whole schema, ours
 * the migrations it misses, anything else is refused untouched.
 */
async function migrate(sql: Sql, where: string, shards: number): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    const tables = (await tx<Row[]>`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`).map((r) => String(r.table_name));
    let version = 0;
    if (tables.length > 0) {
      if (!tables.includes('schema_version')) {
        const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '');
        throw refuse('STORE_ERR_FOREIGN', where, `a database that is not a presence-b2b store (tables: ${shown})`);
      }
      version = await versionOf(tx, 'schema_version', where);
      if (version > SCHEMA_VERSION) {
        throw refuse('STORE_ERR_NEWER_SCHEMA', where, `schema version ${version} was written by a newer presence-b2b (this one reads up to ${SCHEMA_VERSION})`);
      }
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= version) continue;
      for (const statement of migration.statements) await tx.unsafe(statement);
      await tx`UPDATE schema_version SET version = ${migration.version}`;
    }
    let clusterVersion = 0;
    if (tables.includes('cluster_schema_version')) {
      clusterVersion = await versionOf(tx, 'cluster_schema_version', where);
      if (clusterVersion > CLUSTER_SCHEMA_VERSION) {
        throw refuse('STORE_ERR_NEWER_SCHEMA', where, `cluster schema version ${clusterVersion} was written by a newer presence-b2b (this one reads up to ${CLUSTER_SCHEMA_VERSION})`);
      }
    }
    for (const migration of CLUSTER_MIGRATIONS) {
      if (migration.version <= clusterVersion) continue;
      for (const statement of migration.statements) await tx.unsafe(statement);
      await tx`UPDATE cluster_schema_version SET version = ${migration.version}`;
    }
    const now = (await tx<Row[]>`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`).map((r) => String(r.table_name));
    const missing = POSTGRES_TABLES.filter((t) => !now.includes(t));
    if (missing.length > 0) throw refuse('STORE_ERR_CORRUPT', where, `table ${missing.join(', ')} missing`);
    const settings = await tx<Row[]>`SELECT shards FROM cluster_settings`;
    if (settings.length === 0) {
      await tx`INSERT INTO cluster_settings (shards) VALUES (${shards})`;
      await tx`INSERT INTO shard_leases (shard, owner, epoch, expires_at) SELECT s, NULL, 0, '-infinity' FROM generate_series(0, ${shards - 1}::int) AS s`;
    } else if (Number(settings[0]!.shards) !== shards) {
      throw refuse(
        'STORE_ERR_CORRUPT',
        where,
        `the database was set up with ${String(settings[0]!.shards)} shards, not ${shards} (cluster.shards must be the same on every node and every start)`,
      );
    }
    // Rows from before the shard columns (none unless migrated from schema 1 alone): give them their shard.
    const orphans = await tx<Row[]>`SELECT id, package, record, subscriber FROM api_subscriptions WHERE shard < 0`;
    for (const r of orphans) {
      await tx`UPDATE api_subscriptions SET shard = ${shardOf(String(r.package), String(r.record), String(r.subscriber), shards)} WHERE id = ${String(r.id)}`;
    }
    const orphanDialogs = await tx<Row[]>`SELECT dialog_key FROM dialogs WHERE shard < 0`;
    for (const r of orphanDialogs) {
      await tx`UPDATE dialogs SET shard = ${shardOfDialogKey(String(r.dialog_key), shards)} WHERE dialog_key = ${String(r.dialog_key)}`;
    }
  });
}
