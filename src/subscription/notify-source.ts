import { isIP } from 'node:net';
import { parseNameAddr } from '../sip/codec/name-addr.js';
import { parseSipUri } from '../sip/codec/uri.js';
import type { DialogState } from '../sip/dialog/dialog-state.js';

/**
 * Where a NOTIFY of one of our dialogs may come from (docs/hostile-input.md,
 * "Spoofed NOTIFYs"): the addresses our SUBSCRIBEs of that dialog were sent to
 * (the first hop, as resolved: outbound proxy, first Route or the server
 * itself), and the dialog's remote target and first route when their host is
 * an IP address. A NOTIFY that matches its dialog's Call-ID and tags but comes
 * from none of them was sent by someone who learnt those identifiers, or by a
 * server that sends from an address it never told us.
 *
 * Only the address is compared, never the port: over TCP a server opens its
 * connection from an ephemeral port, and over UDP it may send from another
 * socket than the one it listens on.
 */

/** Most first-hop addresses a dialog keeps (RFC 3263 failover may try several). */
const MAX_HOPS = 4;

/** An address as the transport reports it, comparable with resolved targets: no brackets, no IPv4-mapped prefix, lower case. */
export function normalizeAddress(address: string): string {
  let a = address;
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  if (a.length > 7 && (a.startsWith('::ffff:') || a.startsWith('::FFFF:')) && isIP(a.slice(7)) === 4) a = a.slice(7);
  return a.toLowerCase();
}

/** The last list withHop built: most dialogs go to the same first hops, and share one list. */
let lastHops: readonly string[] = [];

/**
 * A dialog's first-hop list (never changed in place: lists are shared) with
 * `host` added, once, keeping at most MAX_HOPS; `hops` itself when `host`
 * adds nothing. Equal lists are one array (issue 11: not one per dialog).
 */
export function withHop(hops: readonly string[] | undefined, host: string): readonly string[] | undefined {
  const address = normalizeAddress(host);
  if (isIP(address) === 0 || hops?.includes(address) === true) return hops;
  const next = hops === undefined ? [address] : [...(hops.length >= MAX_HOPS ? hops.slice(1) : hops), address];
  if (next.length === lastHops.length && next.every((a, i) => a === lastHops[i])) return lastHops;
  lastHops = next;
  return next;
}

/**
 * `match`: the source is an address the dialog expects; `mismatch`: it is
 * none of them; `unknown`: the dialog knows no address at all (every host is
 * a name and no SUBSCRIBE was resolved yet), so nothing can be said.
 */
export type NotifySourceVerdict = 'match' | 'mismatch' | 'unknown';

/**
 * Judges a NOTIFY's source address. The usual case (the NOTIFY comes from
 * where the SUBSCRIBE went) is a comparison of short strings; the URIs of the
 * remote target and first route are parsed only when that fails.
 */
export function judgeNotifySource(sourceAddress: string, hops: readonly string[], state: DialogState): NotifySourceVerdict {
  const source = normalizeAddress(sourceAddress);
  if (hops.includes(source)) return 'match';
  const expected = expectedSources(hops, state);
  if (expected.length === 0) return 'unknown';
  return expected.includes(source) ? 'match' : 'mismatch';
}

/** The addresses a dialog expects its NOTIFYs from, for a log line. */
export function expectedSources(hops: readonly string[], state: DialogState): string[] {
  const out = [...hops];
  for (const host of [literalHostOf(state.remoteTarget, false), state.routeSet[0] === undefined ? undefined : literalHostOf(state.routeSet[0], true)]) {
    if (host !== undefined && !out.includes(host)) out.push(host);
  }
  return out;
}

/** The host of a SIP URI (or of a Route value's URI) when it is an IP address, normalized; undefined for a name or anything unreadable. */
function literalHostOf(text: string, isRouteValue: boolean): string | undefined {
  try {
    const uri = parseSipUri(isRouteValue ? parseNameAddr(text, 'Route').uri : text);
    const host = normalizeAddress(uri.host);
    return isIP(host) === 0 ? undefined : host;
  } catch {
    // A target or route we could not read gives no address to compare with.
    return undefined;
  }
}
