import type { Via } from '../codec/index.js';
import { defaultPort } from './default-port.js';
import type { ReceivedFrom, SipEndpoint } from './types.js';
import { unbracket } from './via-stamping.js';

/**
 * Where the responses to a received request go (RFC 3261 §18.2.2, RFC 3581 §4):
 * the one implementation, used by server transactions and by the transport's
 * stateless 400s. `via` is the request's top Via, `source` where it came from.
 *
 * - Reliable transports (TCP, TLS): the connection the request came on, while
 *   it is open: `send()` reuses it when handed `source`. Should it close: the
 *   `received` address and the sent-by port (default 5060/5061).
 * - UDP with `maddr`: maddr, at the sent-by port.
 * - UDP with `rport` (RFC 3581 §4): exactly the source address and port.
 * - UDP otherwise: the `received` address, at the sent-by port.
 *
 * `received` is what the transport stamps from the source address whenever it
 * differs from the sent-by host (§18.2.1), so the source address is used
 * directly: it is the same value, needs no stamping first, and a `received`
 * a client wrote itself cannot redirect our answer. The transport is the one
 * the request actually came on.
 */
export function responseDestination(via: Via, source: ReceivedFrom): SipEndpoint {
  return responseDestinationUnlessSource(via, source) ?? { transport: source.transport, host: source.remoteAddress, port: source.remotePort };
}

/**
 * The rules of responseDestination() (above), answering undefined when the destination is the
 * source's own address and port: a server transaction kept for Timer J (32 s) derives the usual
 * destination from its source (rport, RFC 3581 §4), and is told so without the endpoint being
 * built (one object less per received request, issue 11).
 */
export function responseDestinationUnlessSource(via: Via, source: ReceivedFrom): SipEndpoint | undefined {
  const transport = source.transport;
  const sentByPort = via.port ?? defaultPort(transport);
  if (transport === 'udp') {
    const maddr = via.params.get('maddr');
    if (maddr) {
      const host = unbracket(maddr);
      return host === source.remoteAddress && sentByPort === source.remotePort ? undefined : { transport, host, port: sentByPort };
    }
    if (via.rport !== undefined) return undefined;
  }
  return sentByPort === source.remotePort ? undefined : { transport, host: source.remoteAddress, port: sentByPort };
}
