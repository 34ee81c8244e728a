import { callIdOf } from '../codec/call-id.js';
import { contactsOf } from '../codec/contact.js';
import { cseqOf } from '../codec/cseq.js';
import { fromHeader, toHeader } from '../codec/from-to.js';
import type { SipMessage, SipRequest, SipResponse } from '../codec/message.js';
import { createRequest } from '../codec/serializer.js';
import { routeSetOf } from '../codec/route.js';
import { formatNameAddr } from '../codec/name-addr.js';
import { ownString } from '../../util/copy-string.js';

/**
 * The state of one dialog we created as UAC (RFC 3261 §12.1.2) or that a
 * NOTIFY created for our SUBSCRIBE (RFC 6665 §4.1.2.4). One flat object: it
 * is held once per subscription, possibly a million times.
 */
export interface DialogState {
  callId: string;
  localTag: string;
  /** Undefined until a 2xx or a NOTIFY confirms the dialog. */
  remoteTag: string | undefined;
  /** Our URI (From), without tag. */
  localUri: string;
  /** The peer's URI (To), without tag. */
  remoteUri: string;
  /** The last CSeq number we used. */
  localCSeq: number;
  /** The highest CSeq number received in a request from the peer. */
  remoteCSeq: number | undefined;
  /** Route header values for in-dialog requests, in the order they are sent. */
  routeSet: string[];
  /** Request-URI for in-dialog requests (the peer's Contact). */
  remoteTarget: string;
}

export function newDialogState(init: { callId: string; localTag: string; localUri: string; remoteUri: string; routeSet?: string[] }): DialogState {
  return {
    callId: init.callId,
    localTag: init.localTag,
    remoteTag: undefined,
    localUri: init.localUri,
    remoteUri: init.remoteUri,
    localCSeq: 0,
    remoteCSeq: undefined,
    routeSet: init.routeSet ?? [],
    remoteTarget: init.remoteUri,
  };
}

function firstContactUri(message: SipMessage): string | undefined {
  const contacts = contactsOf(message);
  if (contacts === '*' || contacts.length === 0) return undefined;
  return contacts[0]!.uri;
}

/**
 * Confirms the dialog from a 2xx to our SUBSCRIBE (RFC 3261 §12.1.2): remote
 * tag from To, route set from Record-Route in reverse order, remote target
 * from Contact. A dialog already confirmed by an earlier NOTIFY keeps its
 * route set (RFC 6665 §4.1.2.4) and only refreshes its target.
 */
export function confirmFromResponse(dialog: DialogState, response: SipResponse): void {
  if (dialog.remoteTag === undefined) {
    const tag = toHeader(response).tag;
    if (tag !== undefined) dialog.remoteTag = ownString(tag);
    dialog.routeSet = routeSetOf(response, 'record-route')
      .map((r) => ownString(formatNameAddr(r)))
      .reverse();
  }
  refreshTarget(dialog, response);
}

/**
 * Confirms the dialog from a NOTIFY that arrived before the 2xx (RFC 6665
 * §4.1.2.4): we are the UAS of the NOTIFY, so the route set is its
 * Record-Route in order (RFC 3261 §12.1.1) and the remote tag is its From-tag.
 */
export function confirmFromNotify(dialog: DialogState, notify: SipRequest): void {
  const tag = fromHeader(notify).tag;
  if (tag !== undefined) dialog.remoteTag = ownString(tag);
  dialog.routeSet = routeSetOf(notify, 'record-route').map((r) => ownString(formatNameAddr(r)));
  refreshTarget(dialog, notify);
}

/** Target refresh (RFC 6665 §3.1: SUBSCRIBE and NOTIFY are target-refresh requests). */
export function refreshTarget(dialog: DialogState, message: SipMessage): void {
  const contact = firstContactUri(message);
  if (contact !== undefined && contact !== dialog.remoteTarget) dialog.remoteTarget = ownString(contact);
}

/** RFC 3261 §12.2.2: a request with a CSeq lower than the last one is out of order (answer 500). */
export function acceptRemoteCSeq(dialog: DialogState, request: SipRequest): boolean {
  const seq = cseqOf(request).seq;
  if (dialog.remoteCSeq !== undefined && seq < dialog.remoteCSeq) return false;
  dialog.remoteCSeq = seq;
  return true;
}

/** The key under which a dialog is found from an incoming request: Call-ID and our tag. */
export function dialogLookupKey(callId: string, localTag: string): string {
  return callId + '\n' + localTag;
}

/** The lookup key of an incoming in-dialog request (our tag is its To-tag). */
export function incomingRequestKey(request: SipRequest): string | undefined {
  const tag = toHeader(request).tag;
  if (tag === undefined) return undefined;
  return dialogLookupKey(callIdOf(request), tag);
}

/**
 * Builds a request inside the dialog (RFC 3261 §12.2.1.1): Request-URI = remote
 * target, Route = route set (loose routing; a strict first route is sent as is),
 * From/To with both tags, the next local CSeq.
 */
export function buildInDialogRequest(
  dialog: DialogState,
  method: string,
  headers: ReadonlyArray<readonly [string, string]>,
  body?: Uint8Array | string,
): SipRequest {
  dialog.localCSeq++;
  const fields: Array<readonly [string, string]> = [];
  for (const route of dialog.routeSet) fields.push(['Route', route]);
  fields.push(['From', `<${dialog.localUri}>;tag=${dialog.localTag}`]);
  fields.push(['To', dialog.remoteTag === undefined ? `<${dialog.remoteUri}>` : `<${dialog.remoteUri}>;tag=${dialog.remoteTag}`]);
  fields.push(['Call-ID', dialog.callId]);
  fields.push(['CSeq', `${dialog.localCSeq} ${method}`]);
  for (const h of headers) fields.push(h);
  return createRequest({ method, uri: dialog.remoteTarget, headers: fields, body });
}
