import { PresenceB2BError } from '../util/errors.js';

/**
 * Stable codes of RlsError (resource list server configuration):
 * - `RLS_ERR_INVALID_LIST` a list or member URI that is not a SIP URI, a list defined twice, an owner that is not a SIP URI
 * - `RLS_ERR_CYCLE`        lists that contain each other (directly or through other lists)
 * - `RLS_ERR_TOO_LARGE`    a list whose expansion (nested lists included) has too many resources
 */
export type RlsErrorCode = 'RLS_ERR_INVALID_LIST' | 'RLS_ERR_CYCLE' | 'RLS_ERR_TOO_LARGE';

export class RlsError extends PresenceB2BError {
  declare readonly code: RlsErrorCode;

  constructor(code: RlsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
