import type { B2BErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';

/** Stable codes of RlsError (`RLS_ERR_*`, meanings in src/util/error-codes.ts). */
export type RlsErrorCode = Extract<B2BErrorCode, `RLS_ERR_${string}`>;

export class RlsError extends PresenceB2BError {
  declare readonly code: RlsErrorCode;

  constructor(code: RlsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
