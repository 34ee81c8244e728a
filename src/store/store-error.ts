import { PresenceB2BError } from '../util/errors.js';

/**
 * Stable codes of StoreError:
 * - `STORE_ERR_OPEN`          the file cannot be opened or created (missing directory, a directory in
 *                             its place, no permission); the message names the file and the reason
 * - `STORE_ERR_CORRUPT`       the file is not a SQLite database, or a damaged one
 * - `STORE_ERR_FOREIGN`       a SQLite database that is not a presence-b2b store
 * - `STORE_ERR_NEWER_SCHEMA`  written by a newer presence-b2b (schema version above ours)
 * - `STORE_ERR_LOCKED`        another process holds the file (a second daemon on the same store)
 * - `STORE_ERR_IO`            a read or write failed while running (disk full, I/O error)
 * - `STORE_ERR_INVALID`       a record that cannot be stored (empty id, a number that is not finite)
 * - `STORE_ERR_DUPLICATE`     an API subscription id that is stored already
 * - `STORE_ERR_CLOSED`        the store was used after close()
 * Opening errors are raised before anything binds; the daemon exits with status 2.
 */
export type StoreErrorCode =
  | 'STORE_ERR_OPEN'
  | 'STORE_ERR_CORRUPT'
  | 'STORE_ERR_FOREIGN'
  | 'STORE_ERR_NEWER_SCHEMA'
  | 'STORE_ERR_LOCKED'
  | 'STORE_ERR_IO'
  | 'STORE_ERR_INVALID'
  | 'STORE_ERR_DUPLICATE'
  | 'STORE_ERR_CLOSED';

export class StoreError extends PresenceB2BError {
  declare readonly code: StoreErrorCode;
  /** The store file concerned, when there is one. */
  readonly file: string | undefined;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown; file?: string }) {
    super(code, message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.file = options?.file;
  }
}
