import type { B2BErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';

/** Stable codes of RegInfoError (`REGINFO_ERR_*`, meanings in src/util/error-codes.ts). */
export type RegInfoErrorCode = Extract<B2BErrorCode, `REGINFO_ERR_${string}`>;

export class RegInfoError extends PresenceB2BError {
  declare readonly code: RegInfoErrorCode;

  constructor(code: RegInfoErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
