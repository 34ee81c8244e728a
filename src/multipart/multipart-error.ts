import type { B2BErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';

/** Stable codes of MultipartError (`MULTIPART_ERR_*`, meanings in src/util/error-codes.ts). */
export type MultipartErrorCode = Extract<B2BErrorCode, `MULTIPART_ERR_${string}`>;

export class MultipartError extends PresenceB2BError {
  declare readonly code: MultipartErrorCode;

  constructor(code: MultipartErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
