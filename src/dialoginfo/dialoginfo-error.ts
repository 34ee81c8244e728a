import type { B2BErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';

/** Stable codes of DialogInfoError (`DIALOGINFO_ERR_*`, meanings in src/util/error-codes.ts). */
export type DialogInfoErrorCode = Extract<B2BErrorCode, `DIALOGINFO_ERR_${string}`>;

export class DialogInfoError extends PresenceB2BError {
  declare readonly code: DialogInfoErrorCode;

  constructor(code: DialogInfoErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
