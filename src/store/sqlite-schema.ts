/**
 * The store's schema and its migrations. The version lives in a table of its
 * own (`schema_version`, one row), not in SQLite's user_version, so that a
 * PostgreSQL store can share the scheme; the DDL uses only standard types
 * (TEXT, BIGINT) and no SQLite-only clause.
 *
 * A migration is appended, never edited: version n turns a version n−1
 * database into a version n one, in one transaction with the version bump.
 * A file whose version is above SCHEMA_VERSION was written by a newer
 * presence-b2b and is refused (STORE_ERR_NEWER_SCHEMA), untouched.
 */
export interface Migration {
  readonly version: number;
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: [
      `CREATE TABLE schema_version (version BIGINT NOT NULL)`,
      `CREATE TABLE api_subscriptions (
        id TEXT NOT NULL PRIMARY KEY,
        record TEXT NOT NULL,
        subscriber TEXT NOT NULL,
        package TEXT NOT NULL,
        queue TEXT NOT NULL,
        created_at BIGINT NOT NULL
      )`,
      `CREATE INDEX api_subscriptions_by_queue ON api_subscriptions (queue)`,
      `CREATE TABLE queues (
        name TEXT NOT NULL PRIMARY KEY,
        event_id_high_water BIGINT NOT NULL
      )`,
      `CREATE TABLE dialogs (
        dialog_key TEXT NOT NULL PRIMARY KEY,
        package TEXT NOT NULL,
        record TEXT NOT NULL,
        subscriber TEXT NOT NULL,
        call_id TEXT NOT NULL,
        local_tag TEXT NOT NULL,
        remote_tag TEXT NOT NULL,
        local_uri TEXT NOT NULL,
        remote_uri TEXT NOT NULL,
        local_cseq BIGINT NOT NULL,
        remote_cseq BIGINT,
        route_set TEXT NOT NULL,
        remote_target TEXT NOT NULL,
        contact TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      )`,
      `INSERT INTO schema_version (version) VALUES (0)`,
    ],
  },
];

/** The version this build writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * SQLite's application_id (header offset 68) for our files: "PB2B". Lets a
 * foreign SQLite database be told from ours before anything is written;
 * SQLite-only, so it complements the version table rather than replacing it.
 */
export const SQLITE_APPLICATION_ID = 0x50423242;

/** The tables of the latest schema (a database holding other tables only is not ours). */
export const STORE_TABLES: readonly string[] = ['schema_version', 'api_subscriptions', 'queues', 'dialogs'];
