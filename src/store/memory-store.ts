import { checkText } from './record-checks.js';
import { compareApiSubscriptions, copyApiSubscription, type StoredApiSubscription } from './stored-api-subscription.js';
import { copyDialog, type StoredDialog } from './stored-dialog.js';
import { copyHighWater, copyQueue, type QueueHighWater, type StoredQueue } from './stored-queue.js';
import { StoreError } from './store-error.js';
import type { DialogWriteBatch, StoreContents, SubscriptionStore } from './subscription-store.js';

function byText<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
}

/**
 * A store that forgets everything with the process: the library's default,
 * and the daemon's with `store: { type: memory }` (persistence off). It keeps
 * the SQLite store's semantics exactly (copies, duplicates, call order) so
 * that code tested against it behaves the same on a file.
 */
export class MemorySubscriptionStore implements SubscriptionStore {
  readonly kind = 'memory';
  readonly location = undefined;
  private readonly apiSubscriptions = new Map<string, StoredApiSubscription>();
  private readonly queues = new Map<string, StoredQueue>();
  private readonly dialogs = new Map<string, StoredDialog>();
  private closed = false;

  /** Entries held, for tests and the benchmark. */
  get size(): { apiSubscriptions: number; queues: number; dialogs: number } {
    return { apiSubscriptions: this.apiSubscriptions.size, queues: this.queues.size, dialogs: this.dialogs.size };
  }

  async load(): Promise<StoreContents> {
    this.checkOpen();
    return {
      apiSubscriptions: [...this.apiSubscriptions.values()].map(copyApiSubscription).sort(compareApiSubscriptions),
      queues: [...this.queues.values()].map(copyQueue).sort(byText((q) => q.name)),
      dialogs: [...this.dialogs.values()].map(copyDialog).sort(byText((d) => d.key)),
    };
  }

  // Each mutation runs synchronously in the call, so call order is effect order.
  createApiSubscription(subscription: StoredApiSubscription): Promise<void> {
    return this.run(() => {
      const copy = copyApiSubscription(subscription);
      if (this.apiSubscriptions.has(copy.id)) throw new StoreError('STORE_ERR_DUPLICATE', `API subscription ${copy.id} is stored already`);
      this.apiSubscriptions.set(copy.id, copy);
    });
  }

  deleteApiSubscription(id: string): Promise<boolean> {
    return this.run(() => this.apiSubscriptions.delete(checkText(id, 'id')));
  }

  createQueue(queue: StoredQueue): Promise<void> {
    return this.run(() => {
      const copy = copyQueue(queue);
      if (!this.queues.has(copy.name)) this.queues.set(copy.name, copy);
    });
  }

  deleteQueue(name: string): Promise<boolean> {
    return this.run(() => {
      checkText(name, 'name');
      for (const [id, sub] of this.apiSubscriptions) if (sub.queue === name) this.apiSubscriptions.delete(id);
      return this.queues.delete(name);
    });
  }

  raiseQueueHighWater(marks: readonly QueueHighWater[]): Promise<void> {
    return this.run(() => {
      const copies = marks.map(copyHighWater); // all checked before anything changes: one transaction
      for (const mark of copies) {
        const known = this.queues.get(mark.name);
        if (known === undefined || known.eventIdHighWater < mark.eventId) this.queues.set(mark.name, { name: mark.name, eventIdHighWater: mark.eventId });
      }
    });
  }

  writeDialogs(batch: DialogWriteBatch): Promise<void> {
    return this.run(() => {
      const upserts = (batch.upserts ?? []).map(copyDialog);
      const deletes = (batch.deletes ?? []).map((k) => checkText(k, 'key'));
      for (const d of upserts) this.dialogs.set(d.key, d);
      for (const key of deletes) this.dialogs.delete(key);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('STORE_ERR_CLOSED', 'the memory store is closed');
  }

  private run<T>(change: () => T): Promise<T> {
    try {
      this.checkOpen();
      return Promise.resolve(change());
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
