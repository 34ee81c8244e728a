/** Small pieces of SIP URI / Via text that the UA core writes itself (RFC 3261 §19.1, §25.1). */
import type { SipTransportName } from '../codec/message.js';

/** An IPv6 literal in a URI or sent-by goes in brackets (RFC 3261 §25.1 IPv6reference). */
export function hostForUri(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

// RFC 3261 §25.1: user = 1*( unreserved / escaped / user-unreserved ).
const USER_SAFE = new Set<number>();
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()&=+$,;?/") USER_SAFE.add(c.charCodeAt(0));

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** The user part of a SIP URI: characters outside the grammar are %-escaped (UTF-8); existing escapes are kept. */
export function escapeUserPart(user: string): string {
  let plain = true;
  for (let i = 0; i < user.length; i++) {
    if (!USER_SAFE.has(user.charCodeAt(i))) {
      plain = false;
      break;
    }
  }
  if (plain) return user;
  let out = '';
  const bytes = Buffer.from(user, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (USER_SAFE.has(b)) out += String.fromCharCode(b);
    else if (b === 0x25 && i + 2 < bytes.length && isHex(bytes[i + 1] as number) && isHex(bytes[i + 2] as number)) out += '%';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Our Contact URI on one transport: `sip:user@host:port`, with `;transport=`
 * for anything but UDP (RFC 3261 §19.1.1: UDP is the default for sip:).
 */
export function ourContactUri(user: string, transport: SipTransportName, sentBy: { host: string; port: number }): string {
  const userPart = user ? `${escapeUserPart(user)}@` : '';
  const suffix = transport === 'udp' ? '' : `;transport=${transport}`;
  return `sip:${userPart}${hostForUri(sentBy.host)}:${sentBy.port}${suffix}`;
}
