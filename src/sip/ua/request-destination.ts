import { parseNameAddr, parseSipUri, routeSetOf } from '../codec/index.js';
import { defaultPort } from '../transport/default-port.js';
import type { SipRequest } from '../codec/message.js';
import type { SendRequestOptions } from './types.js';

/**
 * The URI to resolve for an outgoing request (RFC 3261 §8.1.2):
 * the outbound proxy if one is configured, else the first Route if it is a
 * loose router (`;lr`), else the Request-URI.
 * Strict routing (§12.2.1.1) is the dialog layer's business: it has already put
 * the strict router's URI in the Request-URI, so "else the Request-URI" covers it.
 */
export function requestDestinationUri(request: SipRequest, options: SendRequestOptions | undefined): string {
  if (options?.outboundProxy) return options.outboundProxy;
  const first = routeSetOf(request, 'route')[0];
  if (first !== undefined) {
    if (isLooseRouter(first.uri)) return first.uri;
  }
  return request.uri;
}

function isLooseRouter(uri: string): boolean {
  try {
    return parseSipUri(uri).params.has('lr');
  } catch {
    // Not a SIP URI: not a loose router; the request goes to the Request-URI (RFC 3261 §8.1.2).
    return false;
  }
}

/**
 * True when the Route value `route` names the next hop `proxy` (a SIP URI):
 * the same host and port (RFC 3261 §19.1.2 default ports), the same
 * transport when both name one. False for a route or URI that does not parse.
 */
export function routeLeadsTo(route: string | undefined, proxy: string): boolean {
  if (route === undefined) return false;
  try {
    const a = parseSipUri(parseNameAddr(route, 'Route').uri);
    const b = parseSipUri(proxy.trim());
    if (a.host !== b.host) return false;
    const transportA = a.params.get('transport')?.toLowerCase();
    const transportB = b.params.get('transport')?.toLowerCase();
    if (transportA !== undefined && transportB !== undefined && transportA !== transportB) return false;
    return (a.port ?? defaultPort(transportA ?? a.scheme)) === (b.port ?? defaultPort(transportB ?? b.scheme));
  } catch {
    return false;
  }
}
