import { MemorySubscriptionStore } from './memory-store.js';
import { PostgresSubscriptionStore } from './postgres-store.js';
import { SqliteSubscriptionStore } from './sqlite-store.js';
import { StoreError } from './store-error.js';
import type { StoreSpec } from './store-spec.js';
import type { SubscriptionStore } from './subscription-store.js';

/**
 * Opens the memory or SQLite store `spec` names; a StoreError (naming the
 * file) when it cannot be used. A PostgreSQL store connects, which takes a
 * while: openStoreAsync opens it (and the others).
 */
export function openStore(spec: StoreSpec): SubscriptionStore {
  if (spec.type === 'postgres') {
    throw new StoreError('STORE_ERR_OPEN', 'store type postgres is opened with openStoreAsync (it connects to the database)');
  }
  return spec.type === 'memory' ? new MemorySubscriptionStore() : SqliteSubscriptionStore.open(spec.path);
}

/**
 * Opens any store `spec` names, PostgreSQL included (one daemon per database:
 * exclusive, `shards` as the database was set up with, 1024 by default).
 */
export async function openStoreAsync(spec: StoreSpec, options: { shards?: number } = {}): Promise<SubscriptionStore> {
  if (spec.type !== 'postgres') return openStore(spec);
  return PostgresSubscriptionStore.open({ url: spec.url, ...(options.shards !== undefined ? { shards: options.shards } : {}) });
}
