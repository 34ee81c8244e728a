import { callIdOf } from '../codec/call-id.js';
import { contactsOf } from '../codec/contact.js';
import { cseqOf } from '../codec/cseq.js';
import { fromHeader, toHeader } from '../codec/from-to.js';
import type { SipMessage, SipRequest, SipResponse } from '../codec/message.js';
import { createRequest } from '../codec/serializer.js';
import { routeSetOf } from '../codec/route.js';
import { formatNameAddr, parseNameAddr } from '../codec/name-addr.js';
import { formatUri, parseSipUri } from '../codec/uri.js';
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
    routeSet: init.routeSet ?? NO_ROUTES,
    remoteTarget: init.remoteUri,
  };
}

function firstContactUri(message: SipMessage): string | undefined {
  const contacts = contactsOf(message);
  if (contacts === '*' || contacts.length === 0) return undefined;
  return contacts[0]!.uri;
}

/** Why a message cannot make or update a dialog: a sentence naming the header (for error messages). */
export type DialogProblem = string;

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** readTarget's answer for the last single Contact line it accepted (a pure function of that line). */
let lastContactLine: string | undefined;
let lastContactTarget: { readonly target: string; readonly owned: true } | undefined;

/** The route set of every dialog without one: shared, never changed (a route set is replaced, not edited). */
const NO_ROUTES: string[] = [];
Object.freeze(NO_ROUTES);

/**
 * The remote target a message offers (RFC 3261 §12.1.2: the URI of its
 * Contact, a sip or sips URI), undefined when it has no Contact, or a
 * problem when the Contact is `*`, malformed or not a SIP URI.
 */
function readTarget(message: SipMessage): { target: string | undefined; owned?: true } | { problem: DialogProblem } {
  // A presence server sends the same Contact line in every NOTIFY of every dialog: the answer
  // for the last good single line is kept, so that most NOTIFYs parse no Contact at all.
  const line = message.headers.getSingleByKey('contact');
  if (line !== undefined && line === lastContactLine) return lastContactTarget!;
  try {
    const contacts = contactsOf(message);
    if (contacts === '*') return { problem: 'Contact: * cannot be a remote target' };
    const first = contacts[0];
    if (first === undefined) return { target: undefined };
    parseSipUri(first.uri);
    const target = { target: first.uri };
    if (line !== undefined) {
      // Copied: the line and the URI may be slices of the packet they came in.
      lastContactLine = ownString(line);
      lastContactTarget = { target: ownString(first.uri), owned: true };
    }
    return target;
  } catch (error) {
    return { problem: `unusable Contact (${describeError(error)})` };
  }
}

/** Record-Route entries (each a name-addr with a SIP URI) as Route values, in the order received, or a problem. */
function readRecordRoute(message: SipMessage): { routes: string[] } | { problem: DialogProblem } {
  try {
    const entries = routeSetOf(message, 'record-route');
    if (entries.length === 0) return { routes: NO_ROUTES };
    const routes: string[] = [];
    for (const entry of entries) {
      parseSipUri(entry.uri);
      routes.push(ownString(formatNameAddr(entry)));
    }
    return { routes };
  } catch (error) {
    return { problem: `unusable Record-Route (${describeError(error)})` };
  }
}

/**
 * Confirms the dialog from a 2xx to our SUBSCRIBE (RFC 3261 §12.1.2): remote
 * tag from To, route set from Record-Route in reverse order, remote target
 * from Contact; or, for a dialog already confirmed, refreshes its target
 * (RFC 6665 §3.1: SUBSCRIBE is a target-refresh request). Everything is
 * checked before anything changes: a 2xx that cannot make a dialog (no To
 * tag, an unusable Contact or Record-Route) returns the problem and leaves
 * the dialog as it was; one without Contact keeps the target it had. A 2xx from another fork than the
 * one that confirmed the dialog (its NOTIFY came first, RFC 6665 §4.1.2.4)
 * changes nothing: remote tag and remote target always come from one fork.
 */
export function confirmFromResponse(dialog: DialogState, response: SipResponse): DialogProblem | undefined {
  let tag: string | undefined;
  try {
    tag = toHeader(response).tag;
  } catch (error) {
    return `unusable To (${describeError(error)})`;
  }
  if (dialog.remoteTag !== undefined && tag !== dialog.remoteTag) return undefined;
  const target = readTarget(response);
  if ('problem' in target) return target.problem;
  if (dialog.remoteTag !== undefined) {
    if (target.target !== undefined && target.target !== dialog.remoteTarget) dialog.remoteTarget = ownedTarget(target);
    return undefined;
  }
  if (tag === undefined) return 'no tag in To (RFC 6665 §4.1.2.1)';
  const routes = readRecordRoute(response);
  if ('problem' in routes) return routes.problem;
  dialog.remoteTag = ownString(tag);
  dialog.routeSet = routes.routes.length === 0 ? routes.routes : routes.routes.reverse();
  // A 2xx without Contact (RFC 3261 §12.1.1 requires one) leaves the target where the request went;
  // the first NOTIFY, a target refresh, brings the server's Contact.
  if (target.target !== undefined) dialog.remoteTarget = ownedTarget(target);
  return undefined;
}

/**
 * Confirms the dialog from a NOTIFY that arrived before the 2xx (RFC 6665
 * §4.1.2.4): we are the UAS of the NOTIFY, so the route set is its
 * Record-Route in order (RFC 3261 §12.1.1) and the remote tag is its From-tag.
 * Checked first, as confirmFromResponse: a problem leaves the dialog unchanged;
 * without Contact the target stays where the SUBSCRIBE went.
 */
export function confirmFromNotify(dialog: DialogState, notify: SipRequest): DialogProblem | undefined {
  let tag: string | undefined;
  try {
    tag = fromHeader(notify).tag;
  } catch (error) {
    return `unusable From (${describeError(error)})`;
  }
  if (tag === undefined) return 'no tag in From';
  const target = readTarget(notify);
  if ('problem' in target) return target.problem;
  const routes = readRecordRoute(notify);
  if ('problem' in routes) return routes.problem;
  dialog.remoteTag = ownString(tag);
  dialog.routeSet = routes.routes;
  if (target.target !== undefined) dialog.remoteTarget = ownedTarget(target);
  return undefined;
}

/**
 * Target refresh by an in-dialog request (RFC 6665 §3.1: NOTIFY is a
 * target-refresh request): a usable Contact becomes the remote target, none
 * keeps it; an unusable one returns the problem and changes nothing.
 */
export function refreshTargetFrom(dialog: DialogState, message: SipMessage): DialogProblem | undefined {
  const target = readTarget(message);
  if ('problem' in target) return target.problem;
  if (target.target !== undefined && target.target !== dialog.remoteTarget) dialog.remoteTarget = ownedTarget(target);
  return undefined;
}

/**
 * The remote target to keep: readTarget's remembered answer is already a
 * copy of its own, shared by every dialog with that Contact (a presence
 * server's Contact is the same in all its NOTIFYs); any other is copied out
 * of its packet.
 */
function ownedTarget(answer: { target: string | undefined; owned?: true }): string {
  return answer.owned === true ? answer.target! : ownString(answer.target!);
}

/** Target refresh (RFC 6665 §3.1: SUBSCRIBE and NOTIFY are target-refresh requests). Throws SipParseError on a malformed Contact. */
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

/** True when a Route value names a loose router (`;lr` on its URI, RFC 3261 §19.1.1); false for a strict one. */
export function isLooseRoute(route: string): boolean {
  try {
    return parseSipUri(parseNameAddr(route, 'Route').uri).params.has('lr');
  } catch {
    // Route values come from our checked configuration or a checked Record-Route; treat anything else as loose (sent as is).
    return true;
  }
}

/**
 * The Request-URI a strict router's Route value becomes (RFC 3261 §12.2.1.1):
 * its URI without the parts a Request-URI may not carry (§19.1.1, Table 1:
 * the `method` parameter and headers).
 */
function strictRouterRequestUri(route: string): string {
  const uri = parseSipUri(parseNameAddr(route, 'Route').uri);
  if (!uri.params.has('method') && uri.headers.size === 0) return parseNameAddr(route, 'Route').uri;
  uri.params.delete('method');
  uri.headers.clear();
  return formatUri(uri);
}

/**
 * Builds a request inside the dialog (RFC 3261 §12.2.1.1), the preloaded
 * route set of an initial request included (§8.1.1.1): with an empty route
 * set or a loose router first (`;lr`), Request-URI = remote target and Route
 * = the route set; with a strict router first, Request-URI = that router's
 * URI and Route = the rest of the route set followed by the remote target.
 * From/To with both tags, the next local CSeq.
 */
export function buildInDialogRequest(
  dialog: DialogState,
  method: string,
  headers: ReadonlyArray<readonly [string, string]>,
  body?: Uint8Array | string,
): SipRequest {
  dialog.localCSeq++;
  let uri = dialog.remoteTarget;
  const first = dialog.routeSet[0];
  const strict = first !== undefined && !isLooseRoute(first);
  if (strict) uri = strictRouterRequestUri(first as string);
  // The fields go straight into the request's headers: no array of [name, value] pairs
  // per request to copy them from (issue 11).
  const request = createRequest({ method, uri, body });
  const fields = request.headers;
  if (strict) {
    for (let i = 1; i < dialog.routeSet.length; i++) fields.append('Route', dialog.routeSet[i]!);
    fields.append('Route', `<${dialog.remoteTarget}>`);
  } else {
    for (const route of dialog.routeSet) fields.append('Route', route);
  }
  fields.append('From', `<${dialog.localUri}>;tag=${dialog.localTag}`);
  fields.append('To', dialog.remoteTag === undefined ? `<${dialog.remoteUri}>` : `<${dialog.remoteUri}>;tag=${dialog.remoteTag}`);
  fields.append('Call-ID', dialog.callId);
  fields.append('CSeq', `${dialog.localCSeq} ${method}`);
  for (const h of headers) fields.append(h[0], h[1]);
  return request;
}
