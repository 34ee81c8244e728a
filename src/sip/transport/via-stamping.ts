import { firstListElement, formatVia, topVia, type Via } from '../codec/index.js';
import { rememberTopVia } from '../codec/cache.js';
import type { SipRequest } from '../codec/message.js';

export type ViaStampResult = 'unchanged' | 'stamped' | 'no-via' | 'bad-via';

/**
 * RFC 3261 §18.2.1: the server transport adds `received=<source address>` to
 * the top Via when its sent-by host differs from the packet's source; RFC 3581
 * §4: an `rport` without value is filled with the source port (and then
 * `received` is added even when the host matches). Only the top Via element
 * is rewritten; further Via elements on its line are kept.
 */
export function stampTopVia(request: SipRequest, remoteAddress: string, remotePort: number): ViaStampResult {
  let via: Via;
  try {
    // Usually already parsed (and memoised) by the parser's validation: no second parse.
    via = topVia(request);
  } catch {
    // The caller counts and drops it (malformed-dropped).
    return request.headers.has('via') ? 'bad-via' : 'no-via';
  }
  if (!needsStamp(via, remoteAddress)) return 'unchanged';
  // By index: a parsed request's fields stay packed (SipHeaders), no object per header line.
  const fields = request.headers;
  const count = fields.size;
  for (let f = 0; f < count; f++) {
    if (fields.keyAt(f) !== 'via') continue;
    const line = fields.valueAt(f)!;
    const top = firstListElement(line);
    const edited = editedViaText(top, via, remoteAddress, remotePort);
    const stamped = edited ?? stampViaText(top, via, remoteAddress, remotePort);
    const value = top.length === line.length ? stamped : stamped + line.slice(top.length);
    fields.setValueAt(f, value);
    // The transaction layer reads this Via next (its branch and sent-by key the server
    // transaction): it gets the parse of the stamped text without parsing it again. Only for
    // the text edit, whose result is known field by field; formatVia's output is parsed as before.
    const parsed = edited === undefined ? undefined : viaAsStamped(via, remoteAddress, remotePort);
    if (parsed !== undefined) rememberTopVia(request, value, parsed);
    return 'stamped';
  }
  return 'no-via';
}

function needsStamp(via: Via, remoteAddress: string): boolean {
  return via.rport === true || unbracket(via.host) !== remoteAddress.toLowerCase();
}

/** A copy of `via` with received/rport applied, or undefined when nothing needs adding. */
export function stampedVia(via: Via, remoteAddress: string, remotePort: number): Via | undefined {
  if (!needsStamp(via, remoteAddress)) return undefined;
  // received carries the bare address, IPv6 without brackets (RFC 3261 §20.42, RFC 5118 §4.5).
  const copy: Via = { ...via, params: copyParams(via.params), received: remoteAddress };
  if (via.rport === true) copy.rport = remotePort;
  return copy;
}

/**
 * The text of `element` (whose parse is `via`) with received/rport applied.
 * The usual case (no received yet, a bare `;rport`) is edited as text, which
 * costs far less than formatting the whole Via again on the request path;
 * anything else goes through formatVia.
 */
export function stampViaText(element: string, via: Via, remoteAddress: string, remotePort: number): string {
  if (!needsStamp(via, remoteAddress)) return element;
  const edited = editedViaText(element, via, remoteAddress, remotePort);
  if (edited !== undefined) return edited;
  const copy: Via = { ...via, params: copyParams(via.params), received: remoteAddress };
  if (via.rport === true) copy.rport = remotePort;
  return formatVia(copy);
}

/**
 * The usual stamp as a text edit (no received yet; a bare `;rport` gets its value, then
 * `;received=` is appended), or undefined when it does not apply. Call only when
 * needsStamp(via, remoteAddress).
 */
function editedViaText(element: string, via: Via, remoteAddress: string, remotePort: number): string | undefined {
  if (via.received !== undefined || via.params.has('received')) return undefined;
  let text = element.trimEnd();
  if (via.rport === true) {
    const at = endOfBareParam(text, 'rport');
    if (at < 0) return undefined;
    text = `${text.slice(0, at)}=${remotePort}${text.slice(at)}`;
  }
  return `${text};received=${remoteAddress}`;
}

/**
 * What parsing editedViaText's result gives, built from `via` instead: the same params in
 * the same order, with the rport value written in place and received last (as in the text).
 */
function viaAsStamped(via: Via, remoteAddress: string, remotePort: number): Via | undefined {
  let rport = via.rport;
  // `rport: true` also stands for a first rport with a value that is not a port
  // (`;rport=x;rport`): the edit fills a later bare one, which a parse ignores. Not built here.
  if (rport === true && via.params.get('rport') !== null) return undefined;
  const params = copyParams(via.params);
  if (rport === true) {
    params.set('rport', String(remotePort));
    rport = remotePort;
  }
  params.set('received', remoteAddress);
  return { protocol: via.protocol, transport: via.transport, host: via.host, port: via.port, params, branch: via.branch, received: remoteAddress, rport };
}

/**
 * A new Map with the entries of `params`, in order. `new Map(params)` walks the source through its
 * iterator, an iterator object and an entry array per parameter: the stamp of every request over
 * UDP copies its top Via's parameters (issue 11, about 270 bytes of garbage per NOTIFY). forEach
 * with the target as `this` walks it without either, and without a closure.
 */
function copyParams(params: ReadonlyMap<string, string | null>): Map<string, string | null> {
  const copy = new Map<string, string | null>();
  params.forEach(setInto, copy);
  return copy;
}

function setInto(this: Map<string, string | null>, value: string | null, name: string): void {
  this.set(name, value);
}

/** Index just after the name of a valueless `;name` parameter (case-insensitive), or -1. */
function endOfBareParam(text: string, name: string): number {
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inQuotes) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22) inQuotes = false;
      continue;
    }
    if (c === 0x22) {
      inQuotes = true;
      continue;
    }
    if (c !== 0x3b /* ; */) continue;
    let j = i + 1;
    while (j < text.length && isWs(text.charCodeAt(j))) j++;
    if (text.length - j < name.length || text.slice(j, j + name.length).toLowerCase() !== name) continue;
    const end = j + name.length;
    let k = end;
    while (k < text.length && isWs(text.charCodeAt(k))) k++;
    if (k === text.length || text.charCodeAt(k) === 0x3b) return end;
  }
  return -1;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

export function unbracket(host: string): string {
  return host.length > 1 && host.charCodeAt(0) === 0x5b && host.charCodeAt(host.length - 1) === 0x5d ? host.slice(1, -1) : host;
}
