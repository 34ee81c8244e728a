/** Route and Record-Route (RFC 3261 §20.30, §20.34): lists of name-addrs, in order. */
import type { SipMessage } from './message.js';
import { type NameAddr, parseNameAddr } from './name-addr.js';

/** Every entry across all lines of the header, top first. Throws SipParseError on a bad entry. */
export function routeSetOf(message: SipMessage, name: 'route' | 'record-route'): NameAddr[] {
  const header = name === 'route' ? 'Route' : 'Record-Route';
  return message.headers.values(name).map((value) => parseNameAddr(value, header));
}
