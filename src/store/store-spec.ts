/** Which store, as the daemon's `store:` configuration says. */
export type StoreSpec = { type: 'memory' } | { type: 'sqlite'; path: string } | { type: 'postgres'; url: string };

/** The daemon's default: a SQLite file in the working directory, created on first start. */
export const DEFAULT_STORE_PATH = 'presence-b2b.db';
