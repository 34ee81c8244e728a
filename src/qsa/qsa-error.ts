import type { B2BErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';

/** Stable codes of QsaError (`QSA_ERR_*`, meanings in src/util/error-codes.ts). */
export type QsaErrorCode = Extract<B2BErrorCode, `QSA_ERR_${string}`>;

export class QsaError extends PresenceB2BError {
  declare readonly code: QsaErrorCode;

  constructor(code: QsaErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
