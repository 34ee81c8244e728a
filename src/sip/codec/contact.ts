/** Contact (RFC 3261 §20.10): name-addrs with expires and q, or `*` (REGISTER only). */
import type { SipMessage } from './message.js';
import { type NameAddr, parseNameAddr } from './name-addr.js';
import { parseDeltaSeconds, unquote } from './syntax.js';

export type ContactEntry = NameAddr & { expires?: number; q?: number };

/** q = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 3261 §25.1); invalid → undefined. */
export function parseQValue(text: string): number | undefined {
  const n = text.length;
  if (n === 0 || n > 5) return undefined;
  const c0 = text.charCodeAt(0);
  if (c0 !== 0x30 && c0 !== 0x31) return undefined;
  if (n > 1) {
    if (text.charCodeAt(1) !== 0x2e) return undefined;
    for (let i = 2; i < n; i++) {
      const d = text.charCodeAt(i);
      if (d < 0x30 || d > 0x39 || (c0 === 0x31 && d !== 0x30)) return undefined;
    }
  }
  return Number(text);
}

/**
 * All Contact entries across all Contact lines, or '*' for the wildcard
 * (RFC 3261 §10.2.2). `expires` and `q` come from the header parameters;
 * invalid values are left undefined. Throws SipParseError on a bad entry.
 */
export function contactsOf(message: SipMessage): ContactEntry[] | '*' {
  const values = message.headers.values('contact');
  if (values.length === 1 && values[0] === '*') return '*';
  const out: ContactEntry[] = [];
  for (const value of values) {
    const entry: ContactEntry = parseNameAddr(value, 'Contact');
    const expires = entry.params.get('expires');
    if (expires) {
      const v = parseDeltaSeconds(unquote(expires));
      if (v !== undefined) entry.expires = v;
    }
    const q = entry.params.get('q');
    if (q) {
      const v = parseQValue(q);
      if (v !== undefined) entry.q = v;
    }
    out.push(entry);
  }
  return out;
}
