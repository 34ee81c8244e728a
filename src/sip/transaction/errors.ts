import type { B2BErrorCode } from '../../util/error-codes.js';
import { PresenceB2BError } from '../../util/errors.js';

/** Stable codes of TransactionError (`SIP_ERR_TRANSACTION_*`, meanings in src/util/error-codes.ts). */
export type TransactionErrorCode = Extract<B2BErrorCode, `SIP_ERR_TRANSACTION_${string}`>;

/**
 * Misuse of the transaction layer by its user: a request without our Via
 * branch, a branch already in use, a method it does not serve, a closed layer.
 */
export class TransactionError extends PresenceB2BError {
  declare readonly code: TransactionErrorCode;

  constructor(code: TransactionErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
