import { PresenceB2BError } from '../../util/errors.js';

/** Server location failed: nothing resolved, an unusable URI or an unsupported transport (RFC 3263 §4). */
export class SipDnsError extends PresenceB2BError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SIP_ERR_DNS', message, options);
  }
}
