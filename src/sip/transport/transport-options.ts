import type { Random } from '../../util/random.js';
import type { ParseLimits } from '../codec/index.js';
import type { SipTransportName } from '../codec/message.js';
import type { SipMessageObserver } from './message-observer.js';
import type { ListenSpec } from './types.js';

/** Counters of everything the transport layer did; read them at any time from `layer.stats`. */
export interface TransportStats {
  /** Datagrams and framed stream messages received (well-formed or not; keep-alives excluded). */
  received: number;
  /** Messages handed to a socket. */
  sent: number;
  /** Messages that failed to parse (each is also counted in one of the next three, or dropped silently). */
  parseErrors: number;
  /** Malformed requests answered with a stateless 400. */
  badRequestsAnswered: number;
  /** Malformed responses dropped. */
  malformedResponsesDropped: number;
  /** Malformed requests we could not answer (no usable Via) and garbage, dropped. */
  malformedDropped: number;
  /** Send failures (reported to the caller's onError when it gave one). */
  sendErrors: number;
  /** Exceptions thrown by the upward message handler (caught). */
  handlerErrors: number;
  /** CRLF keep-alives received (RFC 5626 §4.4.1), on streams and as datagrams. */
  keepAlivesReceived: number;
  connectionsOpened: number;
  connectionsClosed: number;
}

export function emptyTransportStats(): TransportStats {
  return {
    received: 0,
    sent: 0,
    parseErrors: 0,
    badRequestsAnswered: 0,
    malformedResponsesDropped: 0,
    malformedDropped: 0,
    sendErrors: 0,
    handlerErrors: 0,
    keepAlivesReceived: 0,
    connectionsOpened: 0,
    connectionsClosed: 0,
  };
}

/** Every kind of TransportDiagnostic (a closed list: metrics label values come from it). */
export const TRANSPORT_DIAGNOSTIC_KINDS = [
  'parse-error',
  'bad-request-answered',
  'malformed-response-dropped',
  'malformed-dropped',
  'framing-error',
  'send-error',
  'handler-error',
  'socket-error',
  'connection-opened',
  'connection-closed',
  'connection-rejected',
] as const;

export type TransportDiagnosticKind = (typeof TRANSPORT_DIAGNOSTIC_KINDS)[number];

/** Something worth logging that happened below the transaction layer. */
export interface TransportDiagnostic {
  kind: TransportDiagnosticKind;
  transport: SipTransportName;
  remoteAddress?: string;
  remotePort?: number;
  connectionId?: number;
  /** One line saying what happened. */
  detail: string;
  error?: unknown;
}

export interface SipTransportLayerOptions {
  listen: ListenSpec[];
  /** Parser limits (message size, header count, line length). */
  limits?: Partial<ParseLimits>;
  /** A TCP/TLS connection without traffic for this long is closed (default 300000 ms). */
  idleTimeoutMs?: number;
  /** An outgoing TCP/TLS connection not established within this is abandoned (default 10000 ms). */
  connectTimeoutMs?: number;
  /** Most TCP+TLS connections open at once, inbound and outbound together (default unlimited). */
  maxConnections?: number;
  /** Outgoing TLS: the CAs to trust and whether to verify; defaults to the first TLS ListenSpec's `ca`/`rejectUnauthorized`, else the system CAs. */
  tlsClient?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean };
  /** SO_RCVBUF asked for on UDP sockets, bytes (default 4 MiB; the kernel caps it at net.core.rmem_max). */
  udpReceiveBufferBytes?: number;
  /** Randomness for the To-tag of stateless 400s (default CryptoRandom). */
  random?: Random;
  onDiagnostic?: (event: TransportDiagnostic) => void;
  /**
   * Told of every message sent and received, with its octets, transport and
   * real addresses (packet capture, e.g. HEP for Homer). None by default:
   * then the transport layer does no work for it.
   */
  observer?: SipMessageObserver;
}
