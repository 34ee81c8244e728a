import type { B2BErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';

/** Stable codes of HepError (`HEP_ERR_*`, meanings in src/util/error-codes.ts). */
export type HepErrorCode = Extract<B2BErrorCode, `HEP_ERR_${string}`>;

export class HepError extends PresenceB2BError {
  declare readonly code: HepErrorCode;

  constructor(code: HepErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
