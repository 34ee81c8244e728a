import { MemorySubscriptionStore } from './memory-store.js';
import { SqliteSubscriptionStore } from './sqlite-store.js';
import type { StoreSpec } from './store-spec.js';
import type { SubscriptionStore } from './subscription-store.js';

/** Opens the store `spec` names; a StoreError (naming the file) when it cannot be used. */
export function openStore(spec: StoreSpec): SubscriptionStore {
  return spec.type === 'memory' ? new MemorySubscriptionStore() : SqliteSubscriptionStore.open(spec.path);
}
