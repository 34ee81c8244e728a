/** From and To (RFC 3261 §20.20, §20.39): a name-addr with a tag (RFC 3261 §19.3). */
import { ownString } from '../../util/copy-string.js';
import { cacheOf } from './cache.js';
import type { SipMessage } from './message.js';
import { type NameAddr, parseNameAddr } from './name-addr.js';
import { SipParseError } from './parse-error.js';

export type TaggedNameAddr = NameAddr & { tag?: string };

function parseTagged(raw: string, header: string): TaggedNameAddr {
  const nameAddr: TaggedNameAddr = parseNameAddr(raw, header);
  const tag = nameAddr.params.get('tag');
  // Tags outlive the packet in dialog state: give them their own storage.
  if (tag) nameAddr.tag = ownString(tag);
  return nameAddr;
}

export function parseFrom(raw: string): TaggedNameAddr {
  return parseTagged(raw, 'From');
}

export function parseTo(raw: string): TaggedNameAddr {
  return parseTagged(raw, 'To');
}

/** The From header. Throws SipParseError if missing or bad. */
export function fromHeader(message: SipMessage): TaggedNameAddr {
  const raw = message.headers.get('from');
  if (raw === undefined) throw new SipParseError('SIP_ERR_PARSE_MISSING_HEADER', 'Missing From', { header: 'from' });
  const cache = cacheOf(message);
  const entry = cache.from;
  if (entry !== undefined && entry.raw === raw) return entry.value;
  const value = parseFrom(raw);
  cache.from = { raw, value };
  return value;
}

/** The To header. Throws SipParseError if missing or bad. */
export function toHeader(message: SipMessage): TaggedNameAddr {
  const raw = message.headers.get('to');
  if (raw === undefined) throw new SipParseError('SIP_ERR_PARSE_MISSING_HEADER', 'Missing To', { header: 'to' });
  const cache = cacheOf(message);
  const entry = cache.to;
  if (entry !== undefined && entry.raw === raw) return entry.value;
  const value = parseTo(raw);
  cache.to = { raw, value };
  return value;
}
