import { resolve } from 'node:path';
import Database from 'libsql';
import { checkText } from './record-checks.js';
import { checkStoreFile } from './sqlite-file-check.js';
import { MIGRATIONS, SCHEMA_VERSION, SQLITE_APPLICATION_ID, STORE_TABLES } from './sqlite-schema.js';
import { copyApiSubscription, type StoredApiSubscription } from './stored-api-subscription.js';
import { copyDialog } from './stored-dialog.js';
import { copyHighWater, copyQueue, type QueueHighWater, type StoredQueue } from './stored-queue.js';
import { StoreError, type StoreErrorCode } from './store-error.js';
import { StoredRowReader } from './stored-row-reader.js';
import type { DialogWriteBatch, StoreContents, SubscriptionStore } from './subscription-store.js';

type Connection = InstanceType<typeof Database>;
/** The part of a prepared statement the store uses. */
interface Statement {
  run(...params: unknown[]): { changes: number };
  all(...params: unknown[]): unknown[];
}
type Row = Record<string, unknown>;

/**
 * Durability settings, chosen for "acknowledged means durable":
 * - journal_mode WAL: a commit appends to the log (one sequential write);
 *   readers never block the writer.
 * - synchronous FULL: the log is fsynced at every commit, so a change whose
 *   promise resolved survives a power cut, not only a crash of the process
 *   (NORMAL would be enough for the latter and may lose the last commits to
 *   an OS crash). Group commit (below) amortizes the fsync over every change
 *   made in the same turn of the event loop.
 * - locking_mode EXCLUSIVE: the file stays locked while the store is open,
 *   so a second daemon started on the same file fails at once
 *   (STORE_ERR_LOCKED) instead of restoring the same subscriptions twice;
 *   it also keeps the WAL index in memory (no -shm file).
 */
const OPEN_PRAGMAS = ['PRAGMA locking_mode = EXCLUSIVE'];
const WRITE_PRAGMAS = ['PRAGMA journal_mode = WAL', 'PRAGMA synchronous = FULL'];

export interface SqliteStoreOptions {
  /** Run PRAGMA quick_check at open (default true): a damaged file is refused at start, not found later. */
  quickCheck?: boolean;
}

interface PendingChange {
  apply(): unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** The SQLite error codes that mean "this file is damaged or not a database". */
const CORRUPT_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

function sqliteCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return '';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The SQLite store (libsql binding: prebuilt binaries from the npm registry,
 * the better-sqlite3 API, Node 20 and later). Synchronous SQLite calls behind
 * an asynchronous interface, with group commit: the changes asked for during
 * one turn of the event loop are written in one transaction (one fsync) on
 * the next turn, and each promise resolves once that transaction committed.
 */
export class SqliteSubscriptionStore implements SubscriptionStore {
  readonly kind = 'sqlite';
  private pending: PendingChange[] = [];
  private flushHandle: NodeJS.Immediate | undefined;
  private closed = false;
  private readonly statements = new Map<string, Statement>();
  /** Transactions committed, changes they carried, transactions that failed (rolled back). */
  readonly stats = { transactions: 0, changes: 0, failures: 0 };

  private readonly rowReader: StoredRowReader;

  private constructor(
    private readonly db: Connection,
    readonly location: string,
  ) {
    this.rowReader = new StoredRowReader(location, sqliteWholeNumber);
  }

  /**
   * Opens (or creates) the store at `path`, resolved against the working
   * directory. Refuses, without writing to it, a file that cannot be opened,
   * is not a SQLite database, is damaged, belongs to something else, was
   * written by a newer schema or is held by another process: a StoreError
   * whose message names the file and the reason.
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteSubscriptionStore {
    const file = resolve(path);
    checkStoreFile(file);
    let db: Connection;
    try {
      db = new Database(file);
    } catch (error) {
      throw classify(error, file, 'cannot be opened', 'STORE_ERR_OPEN');
    }
    try {
      for (const pragma of OPEN_PRAGMAS) db.exec(pragma);
      const version = inspect(db, file, options.quickCheck ?? true);
      for (const pragma of WRITE_PRAGMAS) db.exec(pragma);
      if (version < SCHEMA_VERSION) migrate(db, version);
      // Take the exclusive lock now, not at the first change: a second process fails at its start.
      db.exec('BEGIN IMMEDIATE');
      db.exec('COMMIT');
    } catch (error) {
      try {
        db.close();
      } catch {
        // the first error is the one to report
      }
      if (error instanceof StoreError) throw error;
      throw classify(error, file, 'cannot be opened', 'STORE_ERR_OPEN');
    }
    return new SqliteSubscriptionStore(db, file);
  }

  async load(): Promise<StoreContents> {
    this.checkOpen();
    this.flushNow();
    try {
      const apiSubscriptions = this.statement('SELECT id, record, subscriber, package, queue, created_at FROM api_subscriptions ORDER BY created_at, id')
        .all()
        .map((r) => this.rowReader.apiSubscription(r as Row));
      const queues = this.statement('SELECT name, event_id_high_water FROM queues ORDER BY name')
        .all()
        .map((r) => this.rowReader.queue(r as Row));
      const dialogs = this.statement(
        'SELECT dialog_key, package, record, subscriber, call_id, local_tag, remote_tag, local_uri, remote_uri, local_cseq, remote_cseq, route_set, remote_target, contact, expires_at FROM dialogs ORDER BY dialog_key',
      )
        .all()
        .map((r) => this.rowReader.dialog(r as Row));
      return { apiSubscriptions, queues, dialogs };
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw classify(error, this.location, 'cannot be read', 'STORE_ERR_IO');
    }
  }

  createApiSubscription(subscription: StoredApiSubscription): Promise<void> {
    return this.enqueue(() => copyApiSubscription(subscription), (s) => {
      const result = this.statement(
        'INSERT INTO api_subscriptions (id, record, subscriber, package, queue, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
      ).run(s.id, s.record, s.subscriber, s.package, s.queue, s.createdAt);
      if (result.changes === 0) return new StoreError('STORE_ERR_DUPLICATE', `API subscription ${s.id} is stored already`, { file: this.location });
      return undefined;
    });
  }

  deleteApiSubscription(id: string): Promise<boolean> {
    return this.enqueue(
      () => checkText(id, 'id'),
      (key) => this.statement('DELETE FROM api_subscriptions WHERE id = ?').run(key).changes > 0,
    );
  }

  createQueue(queue: StoredQueue): Promise<void> {
    return this.enqueue(
      () => copyQueue(queue),
      (q) => {
        this.statement('INSERT INTO queues (name, event_id_high_water) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(q.name, q.eventIdHighWater);
      },
    );
  }

  deleteQueue(name: string): Promise<boolean> {
    return this.enqueue(
      () => checkText(name, 'name'),
      (n) => {
        this.statement('DELETE FROM api_subscriptions WHERE queue = ?').run(n);
        return this.statement('DELETE FROM queues WHERE name = ?').run(n).changes > 0;
      },
    );
  }

  raiseQueueHighWater(marks: readonly QueueHighWater[]): Promise<void> {
    return this.enqueue(
      () => marks.map(copyHighWater),
      (copies) => {
        const raise = this.statement(
          `INSERT INTO queues (name, event_id_high_water) VALUES (?, ?)
           ON CONFLICT (name) DO UPDATE SET event_id_high_water =
             CASE WHEN excluded.event_id_high_water > queues.event_id_high_water
                  THEN excluded.event_id_high_water ELSE queues.event_id_high_water END`,
        );
        for (const m of copies) raise.run(m.name, m.eventId);
      },
    );
  }

  writeDialogs(batch: DialogWriteBatch): Promise<void> {
    return this.enqueue(
      () => ({ upserts: (batch.upserts ?? []).map(copyDialog), deletes: (batch.deletes ?? []).map((k) => checkText(k, 'key')) }),
      ({ upserts, deletes }) => {
        if (upserts.length > 0) {
          const upsert = this.statement(
            `INSERT INTO dialogs (dialog_key, package, record, subscriber, call_id, local_tag, remote_tag, local_uri, remote_uri,
                                  local_cseq, remote_cseq, route_set, remote_target, contact, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (dialog_key) DO UPDATE SET
               package = excluded.package, record = excluded.record, subscriber = excluded.subscriber,
               call_id = excluded.call_id, local_tag = excluded.local_tag, remote_tag = excluded.remote_tag,
               local_uri = excluded.local_uri, remote_uri = excluded.remote_uri, local_cseq = excluded.local_cseq,
               remote_cseq = excluded.remote_cseq, route_set = excluded.route_set, remote_target = excluded.remote_target,
               contact = excluded.contact, expires_at = excluded.expires_at`,
          );
          for (const d of upserts) {
            upsert.run(
              d.key,
              d.package,
              d.record,
              d.subscriber,
              d.callId,
              d.localTag,
              d.remoteTag,
              d.localUri,
              d.remoteUri,
              d.localCSeq,
              d.remoteCSeq ?? null,
              JSON.stringify(d.routeSet),
              d.remoteTarget,
              d.contact,
              d.expiresAt,
            );
          }
        }
        if (deletes.length > 0) {
          const remove = this.statement('DELETE FROM dialogs WHERE dialog_key = ?');
          for (const key of deletes) remove.run(key);
        }
      },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flushNow();
    this.closed = true;
    this.statements.clear();
    try {
      this.db.close();
    } catch (error) {
      throw classify(error, this.location, 'cannot be closed', 'STORE_ERR_IO');
    }
  }

  /**
   * Queues one change: `prepare` runs now (validation and copy: a bad record
   * is refused at once, outside any transaction), `apply` in the next group
   * transaction. `apply` may return a StoreError for a refusal of its own
   * (a duplicate) that does not abort the other changes of the group.
   */
  private enqueue<P, R>(prepare: () => P, apply: (prepared: P) => R): Promise<Exclude<R, StoreError>> {
    if (this.closed) return Promise.reject(new StoreError('STORE_ERR_CLOSED', `store ${this.location} is closed`, { file: this.location }));
    let prepared: P;
    try {
      prepared = prepare();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Exclude<R, StoreError>>((resolvePromise, rejectPromise) => {
      this.pending.push({ apply: () => apply(prepared), resolve: resolvePromise as (value: unknown) => void, reject: rejectPromise });
      // setImmediate, not a microtask: requests parsed in the same I/O phase join the transaction.
      this.flushHandle ??= setImmediate(() => {
        this.flushHandle = undefined;
        this.flushNow();
      });
    });
  }

  /** Writes every queued change in one transaction, then settles their promises. */
  private flushNow(): void {
    if (this.flushHandle !== undefined) {
      clearImmediate(this.flushHandle);
      this.flushHandle = undefined;
    }
    const changes = this.pending;
    if (changes.length === 0) return;
    this.pending = [];
    const results: unknown[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        for (const change of changes) results.push(change.apply());
        this.db.exec('COMMIT');
      } catch (error) {
        try {
          this.db.exec('ROLLBACK');
        } catch {
          // SQLite may have rolled back already (disk full, I/O error)
        }
        throw error;
      }
    } catch (error) {
      this.stats.failures++;
      const failure = classify(error, this.location, 'write failed, nothing of it was stored', 'STORE_ERR_IO');
      for (const change of changes) change.reject(failure);
      return;
    }
    this.stats.transactions++;
    this.stats.changes += changes.length;
    changes.forEach((change, i) => {
      const result = results[i];
      if (result instanceof StoreError) change.reject(result);
      else change.resolve(result);
    });
  }

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<unknown[]>(sql) as Statement;
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('STORE_ERR_CLOSED', `store ${this.location} is closed`, { file: this.location });
  }
}

/** A StoreError for a SQLite failure: damaged file, lock held by another process, or the fallback code. */
function classify(error: unknown, file: string, what: string, fallback: StoreErrorCode): StoreError {
  const code = sqliteCode(error);
  if (CORRUPT_CODES.has(code)) return new StoreError('STORE_ERR_CORRUPT', `store ${file}: damaged or not a database (${messageOf(error)}); left untouched`, { cause: error, file });
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError('STORE_ERR_LOCKED', `store ${file}: in use by another process (${messageOf(error)})`, { cause: error, file });
  }
  return new StoreError(fallback, `store ${file}: ${what} (${messageOf(error)})`, { cause: error, file });
}

/** Rows of a read-only query, without the libsql `_metadata` property single-row reads carry. */
function rows(db: Connection, sql: string): Row[] {
  return db.prepare(sql).all() as Row[];
}

/**
 * Reads what the file is without writing to it: integrity (quick_check),
 * ownership (application_id, tables) and schema version. Returns the
 * version (0 for an empty database).
 */
function inspect(db: Connection, file: string, quickCheck: boolean): number {
  if (quickCheck) {
    const problems = rows(db, 'PRAGMA quick_check').map((r) => String(Object.values(r)[0]));
    if (problems.length !== 1 || problems[0] !== 'ok') {
      throw new StoreError('STORE_ERR_CORRUPT', `store ${file}: damaged (${problems.slice(0, 3).join('; ')}); left untouched`, { file });
    }
  }
  const tables = rows(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").map((r) => String(r.name));
  const applicationId = Number(Object.values(rows(db, 'PRAGMA application_id')[0] ?? {})[0] ?? 0);
  if (tables.length === 0) {
    if (applicationId !== 0 && applicationId !== SQLITE_APPLICATION_ID) {
      throw new StoreError('STORE_ERR_FOREIGN', `store ${file}: a SQLite database of another application (application_id ${applicationId}); left untouched`, { file });
    }
    return 0;
  }
  if ((applicationId !== SQLITE_APPLICATION_ID && applicationId !== 0) || !tables.includes('schema_version')) {
    const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '');
    throw new StoreError('STORE_ERR_FOREIGN', `store ${file}: a SQLite database that is not a presence-b2b store (tables: ${shown}); left untouched`, { file });
  }
  const versions = rows(db, 'SELECT version FROM schema_version');
  const version = versions.length === 1 ? versions[0]!.version : undefined;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new StoreError('STORE_ERR_CORRUPT', `store ${file}: schema_version holds ${versions.length} rows instead of one version number; left untouched`, { file });
  }
  if (version > SCHEMA_VERSION) {
    throw new StoreError(
      'STORE_ERR_NEWER_SCHEMA',
      `store ${file}: schema version ${version} was written by a newer presence-b2b (this one reads up to ${SCHEMA_VERSION}); left untouched`,
      { file },
    );
  }
  const missing = STORE_TABLES.filter((t) => !tables.includes(t));
  if (version === SCHEMA_VERSION && missing.length > 0) {
    throw new StoreError('STORE_ERR_CORRUPT', `store ${file}: schema version ${version} but table ${missing.join(', ')} missing; left untouched`, { file });
  }
  return version;
}

/** Brings a database from `from` to SCHEMA_VERSION, one transaction per migration. */
function migrate(db: Connection, from: number): void {
  for (const migration of MIGRATIONS) {
    if (migration.version <= from) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      if (from === 0) db.exec(`PRAGMA application_id = ${SQLITE_APPLICATION_ID}`);
      for (const sql of migration.statements) db.exec(sql);
      db.prepare('UPDATE schema_version SET version = ?').run(migration.version);
      db.exec('COMMIT');
    } catch (error) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // nothing to undo
      }
      throw error;
    }
  }
}

/** libsql returns INTEGER columns as numbers (safe integers: no value we write is larger). */
function sqliteWholeNumber(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : Number.NaN;
}
