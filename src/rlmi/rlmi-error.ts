import type { B2BErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';

/** Stable codes of RlmiError (`RLMI_ERR_*`, meanings in src/util/error-codes.ts). */
export type RlmiErrorCode = Extract<B2BErrorCode, `RLMI_ERR_${string}`>;

export class RlmiError extends PresenceB2BError {
  declare readonly code: RlmiErrorCode;

  constructor(code: RlmiErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
