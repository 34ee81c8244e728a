import type { B2BErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';

/**
 * Stable codes of StoreError (`STORE_ERR_*`, meanings in src/util/error-codes.ts).
 * Opening errors come before anything binds; the daemon exits with status 2.
 */
export type StoreErrorCode = Extract<B2BErrorCode, `STORE_ERR_${string}`>;

export class StoreError extends PresenceB2BError {
  declare readonly code: StoreErrorCode;
  /** The store file concerned, when there is one. */
  readonly file: string | undefined;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown; file?: string }) {
    super(code, message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.file = options?.file;
  }
}
