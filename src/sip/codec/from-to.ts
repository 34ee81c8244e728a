/** From and To (RFC 3261 §20.20, §20.39): a name-addr with a tag (RFC 3261 §19.3). */
import { cacheOf } from './cache.js';
import type { SipMessage } from './message.js';
import { type NameAddr, parseTaggedNameAddr } from './name-addr.js';
import { SipParseError } from './parse-error.js';

export type TaggedNameAddr = NameAddr & { tag?: string };

function parseTagged(raw: string, header: string): TaggedNameAddr {
  return parseTaggedNameAddr(raw, header);
}

export function parseFrom(raw: string): TaggedNameAddr {
  return parseTagged(raw, 'From');
}

export function parseTo(raw: string): TaggedNameAddr {
  return parseTagged(raw, 'To');
}

/** The From header. Throws SipParseError if missing or bad. */
export function fromHeader(message: SipMessage): TaggedNameAddr {
  const raw = message.headers.getByKey('from');
  if (raw === undefined) throw new SipParseError('SIP_ERR_PARSE_MISSING_HEADER', 'Missing From', { header: 'from' });
  const cache = cacheOf(message);
  if (cache.fromRaw === raw && cache.from !== undefined) return cache.from;
  const value = parseFrom(raw);
  cache.fromRaw = raw;
  cache.from = value;
  return value;
}

/** The To header. Throws SipParseError if missing or bad. */
export function toHeader(message: SipMessage): TaggedNameAddr {
  const raw = message.headers.getByKey('to');
  if (raw === undefined) throw new SipParseError('SIP_ERR_PARSE_MISSING_HEADER', 'Missing To', { header: 'to' });
  const cache = cacheOf(message);
  if (cache.toRaw === raw && cache.to !== undefined) return cache.to;
  const value = parseTo(raw);
  cache.toRaw = raw;
  cache.to = value;
  return value;
}
