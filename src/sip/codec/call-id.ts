/** Call-ID (RFC 3261 §20.8). */
import { ownString } from '../../util/copy-string.js';
import { cacheOf } from './cache.js';
import type { SipMessage } from './message.js';
import { SipParseError } from './parse-error.js';

/** The Call-ID, with its own storage (it keys dialog state for a long time). Throws SipParseError if missing or empty. */
export function callIdOf(message: SipMessage): string {
  const raw = message.headers.getByKey('call-id');
  if (raw === undefined || raw.length === 0) {
    throw new SipParseError('SIP_ERR_PARSE_MISSING_HEADER', 'Missing Call-ID', { header: 'call-id' });
  }
  const cache = cacheOf(message);
  if (cache.callIdRaw === raw && cache.callId !== undefined) return cache.callId;
  const value = ownString(raw);
  cache.callIdRaw = raw;
  cache.callId = value;
  return value;
}
