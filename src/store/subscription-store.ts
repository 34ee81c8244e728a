import type { StoredApiSubscription } from './stored-api-subscription.js';
import type { StoredDialog } from './stored-dialog.js';
import type { QueueHighWater, StoredQueue } from './stored-queue.js';

/** Everything a store holds, read once at start. */
export interface StoreContents {
  /** By creation time, then id. */
  readonly apiSubscriptions: StoredApiSubscription[];
  /** By name. */
  readonly queues: StoredQueue[];
  /** By key. */
  readonly dialogs: StoredDialog[];
}

/** One call's worth of dialog snapshot changes, written in one transaction. */
export interface DialogWriteBatch {
  /** Inserted or replaced, by key. */
  readonly upserts?: readonly StoredDialog[];
  /** Keys to forget (unknown keys are ignored). */
  readonly deletes?: readonly string[];
}

/**
 * Where presence-b2b keeps what must survive a restart: the daemon's desired
 * state (API subscriptions, named queues and the high-water mark of their
 * event ids) and a snapshot of each SIP dialog for in-dialog resume.
 *
 * Contract of every implementation (checked by the shared test suite):
 * - Every method is asynchronous, and the changes take effect in call order:
 *   a delete issued after a create removes what the create stored, whether
 *   or not the create has resolved.
 * - A promise resolves only once its change is durable (it survives a crash
 *   of the process and, for the SQLite store, of the machine), and rejects
 *   with a StoreError when it is not; nothing is then half-written.
 * - Records are copied on the way in and out: mutating an argument or a
 *   loaded record changes nothing stored.
 * - After close() every method rejects with STORE_ERR_CLOSED.
 * The SQL kept portable (no SQLite-only syntax in the statements), so that a
 * PostgreSQL store for a cluster mode can reuse the schema and this suite.
 */
export interface SubscriptionStore {
  /** `memory`, `sqlite`, …: for logs and /healthz. */
  readonly kind: string;
  /** The file or database it lives in; undefined for memory. */
  readonly location: string | undefined;

  /** Everything stored, for a restart. */
  load(): Promise<StoreContents>;

  /** Stores a new API subscription; STORE_ERR_DUPLICATE when its id is stored already. */
  createApiSubscription(subscription: StoredApiSubscription): Promise<void>;
  /** Forgets an API subscription; false when it was not stored. */
  deleteApiSubscription(id: string): Promise<boolean>;
  /**
   * One stored API subscription, or undefined. Stores that several nodes share implement it (cluster
   * mode: a node shows a subscription another node makes).
   */
  getApiSubscription?(id: string): Promise<StoredApiSubscription | undefined>;

  /** Stores a named queue; a queue of that name stored already is kept as it is (its high-water mark too). */
  createQueue(queue: StoredQueue): Promise<void>;
  /** Forgets a named queue and every API subscription into it; false when it was not stored. */
  deleteQueue(name: string): Promise<boolean>;
  /**
   * Raises the event-id high-water mark of each queue named (never lowers
   * it; a queue not stored yet is created with it). One transaction.
   */
  raiseQueueHighWater(marks: readonly QueueHighWater[]): Promise<void>;

  /** Upserts and deletes dialog snapshots, all in ONE transaction (a key in both: the delete wins). */
  writeDialogs(batch: DialogWriteBatch): Promise<void>;

  /** Finishes what is pending, then releases the file. Idempotent. */
  close(): Promise<void>;
}
