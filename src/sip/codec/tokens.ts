/** Token-list headers: Allow-Events, Supported, Require, Proxy-Require, Unsupported, Allow (RFC 3261 §20, RFC 6665 §8.2.2). */
import type { SipMessage } from './message.js';

/** Every token of the header across all its lines, trimmed and lower-cased, empty ones skipped. */
export function tokenListOf(message: SipMessage, name: string): string[] {
  const out: string[] = [];
  for (const value of message.headers.values(name)) {
    const token = value.trim().toLowerCase();
    if (token.length > 0) out.push(token);
  }
  return out;
}
