import type { Via } from '../codec/index.js';
import type { ReceivedFrom, SipEndpoint } from '../transport/types.js';

/** RFC 3261 §18.2.2 / §19.1.2 default ports. */
export function defaultPort(transport: string): number {
  return transport === 'tls' ? 5061 : 5060;
}

/**
 * Where the responses of a server transaction go (RFC 3261 §18.2.2, RFC 3581 §4).
 * - Reliable: on the connection the request came on (the transport uses `source`);
 *   should that close, the address in `received` (or the source) and the sent-by port.
 * - UDP with `maddr`: there, at the sent-by port.
 * - UDP with `rport` (RFC 3581): back to the source address and port.
 * - UDP otherwise: the `received` address (or the source), at the sent-by port.
 */
export function responseDestination(via: Via, source: ReceivedFrom): SipEndpoint {
  const sentByPort = via.port ?? defaultPort(source.transport);
  if (source.transport !== 'udp') {
    return { transport: source.transport, host: unbracket(via.received ?? source.remoteAddress), port: sentByPort };
  }
  const maddr = via.params.get('maddr');
  if (maddr) return { transport: 'udp', host: unbracket(maddr), port: sentByPort };
  if (via.rport !== undefined) return { transport: 'udp', host: source.remoteAddress, port: source.remotePort };
  return { transport: 'udp', host: unbracket(via.received ?? source.remoteAddress), port: sentByPort };
}

/** An IPv6 reference without its brackets, as sockets want it. */
function unbracket(host: string): string {
  return host.length > 1 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
