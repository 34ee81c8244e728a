import { MemorySubscriptionStore } from './memory-store.js';
import { SqliteSubscriptionStore } from './sqlite-store.js';
import type { SubscriptionStore } from './subscription-store.js';

/** Which store, as the daemon's `store:` configuration says. */
export type StoreSpec = { type: 'memory' } | { type: 'sqlite'; path: string };

/** The daemon's default: a SQLite file in the working directory, created on first start. */
export const DEFAULT_STORE_PATH = 'presence-b2b.db';

/** Opens the store `spec` names; a StoreError (naming the file) when it cannot be used. */
export function openStore(spec: StoreSpec): SubscriptionStore {
  return spec.type === 'memory' ? new MemorySubscriptionStore() : SqliteSubscriptionStore.open(spec.path);
}
