import { parseSipUri, routeSetOf } from '../codec/index.js';
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
