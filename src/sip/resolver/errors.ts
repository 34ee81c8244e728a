import type { B2BErrorCode } from '../../util/error-codes.js';
import { PresenceB2BError } from '../../util/errors.js';

/** The code of SipDnsError. */
export type SipDnsErrorCode = Extract<B2BErrorCode, 'SIP_ERR_DNS'>;

/** Server location failed: nothing resolved, an unusable URI or an unsupported transport (RFC 3263 §4). */
export class SipDnsError extends PresenceB2BError {
  declare readonly code: SipDnsErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super('SIP_ERR_DNS', message, options);
  }
}
