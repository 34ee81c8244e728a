import { callIdOf, cseqOf, fromHeader, toHeader, type Via } from '../codec/index.js';
import type { SipRequest } from '../codec/message.js';
import { hasMagicCookie } from './branch.js';
import { defaultPort } from '../transport/default-port.js';
import { flatString } from '../../util/copy-string.js';

// Keys are strings so that transactions live in one Map per side. \u0001 never
// occurs in a SIP token or header value, so fields cannot run into each other.
const SEP = '\u0001';

/** RFC 3261 §17.1.3: a response belongs to the client transaction with its top Via branch and CSeq method. */
export function clientTransactionKey(branch: string, method: string): string {
  return branch + SEP + method;
}

/**
 * RFC 3261 §17.2.3: the server transaction of a request.
 * - With a `z9hG4bK` branch: branch, sent-by and method (an ACK goes with its INVITE).
 * - Without (RFC 2543 peers): Request-URI, To tag, From tag, Call-ID, CSeq and the top Via.
 *   (An RFC 2543 ACK carries the To tag of our response, so it matches nothing: fine, we run no INVITE transactions.)
 */
export function serverTransactionKey(request: SipRequest, via: Via, topViaText?: string): string {
  return keyFor(request, via, topViaText, request.method === 'ACK' ? 'INVITE' : request.method);
}

/**
 * serverTransactionKey() as a flat string with storage of its own (the layer keeps it for
 * Timer J, 32 s, RFC 3261 §17.2.2): not a rope of slices of the received header text. The
 * usual `z9hG4bK` key is joined in one go into one sequential string (issue 11: a rope, its
 * flattening and a copy of it were three strings per request before).
 */
export function ownedServerTransactionKey(request: SipRequest, via: Via): string {
  const key = serverTransactionKey(request, via);
  // keyFor() already joins a z9hG4bK key into a flat string of its own.
  return hasMagicCookie(via.branch) ? key : flatString(key);
}

/** The pieces of a `z9hG4bK` server key (see keyFor), filled in place for each request. */
const KEY_PARTS: Array<string | number> = ['b', SEP, '', SEP, '', ':', 0, SEP, ''];

/**
 * The key of the transaction a CANCEL names (RFC 3261 §9.2): matched like the
 * CANCEL itself, but with the method of the request it cancels.
 */
export function cancelledTransactionKey(cancel: SipRequest, via: Via, topViaText: string | undefined, cancelledMethod: string): string {
  return keyFor(cancel, via, topViaText, cancelledMethod);
}

/**
 * `topViaText` (the top Via element as written) is needed only without a `z9hG4bK`
 * branch; when not given it is taken from the request then, so that the usual case
 * splits no Via list per request.
 */
function keyFor(request: SipRequest, via: Via, topViaText: string | undefined, method: string): string {
  if (hasMagicCookie(via.branch)) {
    // Joined in one go: one sequential string, not a rope of slices of the packet's text.
    const parts = KEY_PARTS;
    parts[2] = via.branch;
    parts[4] = via.host.toLowerCase();
    parts[6] = via.port ?? defaultPort(via.transport);
    parts[8] = method;
    const key = parts.join('');
    // Let go of the slices of the packet's text until the next request.
    parts[2] = parts[4] = parts[8] = '';
    return key;
  }
  const seq = cseqOf(request).seq;
  const toTag = toHeader(request).tag ?? '';
  const fromTag = fromHeader(request).tag ?? '';
  const viaText = topViaText ?? request.headers.values('via')[0] ?? '';
  return `m${SEP}${request.uri}${SEP}${toTag}${SEP}${fromTag}${SEP}${callIdOf(request)}${SEP}${seq}${SEP}${method}${SEP}${viaText}`;
}
