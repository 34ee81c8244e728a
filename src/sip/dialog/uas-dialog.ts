import { ownString } from '../../util/copy-string.js';
import { callIdOf } from '../codec/call-id.js';
import { contactsOf } from '../codec/contact.js';
import { cseqOf } from '../codec/cseq.js';
import { fromHeader, toHeader } from '../codec/from-to.js';
import type { SipRequest, SipResponse } from '../codec/message.js';
import { formatNameAddr } from '../codec/name-addr.js';
import { routeSetOf } from '../codec/route.js';
import { createResponse } from '../codec/serializer.js';
import type { DialogState } from './dialog-state.js';

/**
 * The dialog state a UAS creates when it accepts a dialog-creating request
 * (RFC 3261 §12.1.1), here a SUBSCRIBE (RFC 6665 §4.2.1): the route set is the
 * request's Record-Route in order, the remote target its Contact, the remote
 * tag its From-tag, and our CSeq space starts empty. Returns undefined when
 * the request has no usable From tag or Contact (RFC 6665 §4.1.2.1 requires
 * both); throws SipParseError on malformed From, To, Call-ID, CSeq or
 * Record-Route. Every kept string is copied out of the packet.
 */
export function newUasDialogState(request: SipRequest, localTag: string): DialogState | undefined {
  const from = fromHeader(request);
  if (from.tag === undefined) return undefined;
  const contacts = contactsOf(request);
  if (contacts === '*' || contacts.length === 0) return undefined;
  return {
    callId: ownString(callIdOf(request)),
    localTag,
    remoteTag: ownString(from.tag),
    localUri: ownString(toHeader(request).uri),
    remoteUri: ownString(from.uri),
    localCSeq: 0,
    remoteCSeq: cseqOf(request).seq,
    routeSet: routeSetOf(request, 'record-route').map((r) => ownString(formatNameAddr(r))),
    remoteTarget: ownString(contacts[0]!.uri),
  };
}

/**
 * A response to a dialog-creating request (RFC 3261 §12.1.1): To gets our tag
 * (unless it has one already, for an in-dialog request), and every
 * Record-Route of the request is copied, in order, into the response.
 */
export function createUasDialogResponse(
  request: SipRequest,
  status: number,
  localTag: string,
  headers: ReadonlyArray<readonly [string, string]>,
  reason?: string,
): SipResponse {
  const fields: Array<readonly [string, string]> = [];
  for (const value of request.headers.getAll('record-route')) fields.push(['Record-Route', value]);
  for (const h of headers) fields.push(h);
  return createResponse(request, status, reason, { toTag: localTag, headers: fields });
}
