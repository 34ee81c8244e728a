import { StoreError } from './store-error.js';
import type { StoredApiSubscription } from './stored-api-subscription.js';
import type { StoredDialog } from './stored-dialog.js';
import type { StoredQueue } from './stored-queue.js';

/** A row as a SQL driver returns it: column name to value. */
export type StoredRow = Record<string, unknown>;

/**
 * Turns the rows of the portable schema (docs/persistence.md) back into what
 * the store holds, for every SQL store alike. Anything that is not what the
 * schema wrote means the file or database was changed behind our back:
 * STORE_ERR_CORRUPT naming the table and column, never a half-read value.
 * Drivers differ only in how a whole number comes back (libsql: number;
 * postgres.js: a string for BIGINT), hence `wholeNumber`.
 */
export class StoredRowReader {
  constructor(
    private readonly location: string,
    /** The value as a whole number, or NaN when it is none. */
    private readonly wholeNumber: (value: unknown) => number,
  ) {}

  apiSubscription(row: StoredRow): StoredApiSubscription {
    const t = 'api_subscriptions';
    return {
      id: this.text(row, 'id', t),
      record: this.text(row, 'record', t),
      subscriber: this.text(row, 'subscriber', t),
      package: this.text(row, 'package', t),
      queue: this.text(row, 'queue', t),
      createdAt: this.count(row, 'created_at', t),
    };
  }

  queue(row: StoredRow): StoredQueue {
    return { name: this.text(row, 'name', 'queues'), eventIdHighWater: this.count(row, 'event_id_high_water', 'queues') };
  }

  dialog(row: StoredRow): StoredDialog {
    const t = 'dialogs';
    let routeSet: unknown;
    try {
      routeSet = JSON.parse(this.text(row, 'route_set', t));
    } catch (error) {
      if (error instanceof StoreError) throw error;
      routeSet = undefined;
    }
    if (!Array.isArray(routeSet) || !routeSet.every((r) => typeof r === 'string')) throw this.bad(t, 'a route_set that is not a JSON list of strings');
    return {
      key: this.text(row, 'dialog_key', t),
      package: this.text(row, 'package', t),
      record: this.text(row, 'record', t),
      subscriber: this.text(row, 'subscriber', t),
      callId: this.text(row, 'call_id', t),
      localTag: this.text(row, 'local_tag', t),
      remoteTag: this.text(row, 'remote_tag', t),
      localUri: this.text(row, 'local_uri', t),
      remoteUri: this.text(row, 'remote_uri', t),
      localCSeq: this.count(row, 'local_cseq', t),
      remoteCSeq: row.remote_cseq === null ? undefined : this.count(row, 'remote_cseq', t),
      routeSet: routeSet as string[],
      remoteTarget: this.text(row, 'remote_target', t),
      contact: this.text(row, 'contact', t),
      expiresAt: this.count(row, 'expires_at', t),
    };
  }

  bad(table: string, what: string): StoreError {
    return new StoreError('STORE_ERR_CORRUPT', `store ${this.location}: table ${table} holds ${what}`, { file: this.location });
  }

  private text(row: StoredRow, column: string, table: string): string {
    const value = row[column];
    if (typeof value !== 'string') throw this.bad(table, `a ${column} that is not text`);
    return value;
  }

  private count(row: StoredRow, column: string, table: string): number {
    const n = this.wholeNumber(row[column]);
    if (Number.isNaN(n) || n < 0) throw this.bad(table, `a ${column} that is not a whole number`);
    return n;
  }
}
