import type { Via } from '../codec/index.js';
import type { SipTransportName } from '../codec/message.js';
import type { SipEndpoint } from './types.js';
import { unbracket } from './via-stamping.js';

/** The transports we speak, from a Via sent-protocol transport token. */
export function transportFromVia(token: string): SipTransportName | undefined {
  switch (token.toUpperCase()) {
    case 'UDP':
      return 'udp';
    case 'TCP':
      return 'tcp';
    case 'TLS':
      return 'tls';
    default:
      return undefined;
  }
}

/** RFC 3261 §19.1.2 / §18.2.2: 5060, or 5061 for TLS. */
export function defaultSipPort(transport: SipTransportName): number {
  return transport === 'tls' ? 5061 : 5060;
}

/**
 * Where a response goes when the connection its request came on is gone
 * (or it came on UDP), from the top Via of the response:
 * - reliable transports: `received` (else sent-by host) and the sent-by port (RFC 3261 §18.2.2);
 * - UDP with `maddr`: maddr and the sent-by port (RFC 3261 §18.2.2);
 * - UDP with `received` and a numeric `rport`: exactly there (RFC 3581 §4);
 * - UDP with `received`: received and the sent-by port;
 * - else the sent-by host and port.
 * Undefined when the Via names a transport we do not speak.
 */
export function responseDestination(via: Via): SipEndpoint | undefined {
  const transport = transportFromVia(via.transport);
  if (transport === undefined) return undefined;
  const sentByPort = via.port ?? defaultSipPort(transport);
  if (transport === 'udp') {
    const maddr = via.params.get('maddr');
    if (maddr) return { transport, host: unbracket(maddr), port: sentByPort };
    if (via.received !== undefined && typeof via.rport === 'number') return { transport, host: unbracket(via.received), port: via.rport };
  }
  return { transport, host: unbracket(via.received ?? via.host), port: sentByPort };
}
