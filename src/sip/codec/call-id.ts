/** Call-ID (RFC 3261 §20.8). */
import { ownString } from '../../util/copy-string.js';
import { cacheOf } from './cache.js';
import type { SipMessage } from './message.js';
import { SipParseError } from './parse-error.js';

/** The Call-ID, with its own storage (it keys dialog state for a long time). Throws SipParseError if missing or empty. */
export function callIdOf(message: SipMessage): string {
  const raw = message.headers.get('call-id');
  if (raw === undefined || raw.length === 0) {
    throw new SipParseError('SIP_ERR_PARSE_MISSING_HEADER', 'Missing Call-ID', { header: 'call-id' });
  }
  const cache = cacheOf(message);
  const entry = cache.callId;
  if (entry !== undefined && entry.raw === raw) return entry.value;
  const value = ownString(raw);
  cache.callId = { raw, value };
  return value;
}
