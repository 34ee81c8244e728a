import type { Random } from '../../util/random.js';
import type { TimerScheduler } from '../../util/timer-scheduler.js';
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
  /** Inbound connections refused, and outgoing ones not opened, at maxConnections. */
  connectionsRejected: number;
  /** Connections closed after idleTimeoutMs without traffic. */
  idleTimeouts: number;
  /** Connections closed because a message did not arrive whole within messageTimeoutMs. */
  messageTimeouts: number;
  /** Messages over maxMessageBytes of their transport (a datagram answered 513, a stream closed). */
  oversizeMessages: number;
  /** Requests answered 503 with Retry-After, unprocessed, while the receive backlog was over its limit. */
  requestsShed: number;
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
    connectionsRejected: 0,
    idleTimeouts: 0,
    messageTimeouts: 0,
    oversizeMessages: 0,
    requestsShed: 0,
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
  'message-timeout',
  'message-too-large',
  'overload-started',
  'overload-ended',
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

/**
 * Load shedding (docs/hostile-input.md, "Floods"): while the receive backlog
 * is over `backlogLimitBytes`, every new request (ACK aside) is answered
 * `503 Service Unavailable` with `Retry-After: retryAfterSeconds` without
 * being parsed further or handed up; responses always go through. Shedding
 * starts when a sample is over the limit and stops when one is under half of it.
 */
export interface OverloadOptions {
  /**
   * Octets waiting in the kernel's receive queues of our UDP sockets above
   * which requests are shed; `auto`: half the receive buffer the kernel gave
   * the smallest of them (SO_RCVBUF as read back, which is what the kernel
   * counts against); 0 turns shedding off.
   */
  backlogLimitBytes: number | 'auto';
  /** Retry-After of the 503s, seconds (RFC 3261 §20.33). */
  retryAfterSeconds: number;
  /** How often the backlog is sampled (default 100 ms). */
  sampleIntervalMs?: number;
  /**
   * Reads the backlog in octets, given our UDP sockets' bound addresses and
   * ports; default: the `rx_queue` of those sockets in /proc/net/udp and
   * /proc/net/udp6 (Linux; elsewhere 0, i.e. never shedding). Tests inject one.
   */
  backlog?: (sockets: ReadonlyArray<{ address: string; port: number }>) => number;
}

export interface SipTransportLayerOptions {
  listen: ListenSpec[];
  /** Parser limits (message size, header count, line length). */
  limits?: Partial<ParseLimits>;
  /**
   * Largest message accepted per transport, octets (default limits.maxMessageBytes,
   * 65535). A datagram over it gets 513 Message Too Large (RFC 3261 §21.4.12); a
   * stream whose next message would be larger is closed (§18.3: it cannot be resynchronised).
   */
  maxMessageBytes?: Partial<Record<SipTransportName, number>>;
  /** A TCP/TLS connection without traffic for this long is closed (default 300000 ms). */
  idleTimeoutMs?: number;
  /**
   * A TCP/TLS peer must send a whole message within this long of its first
   * octet, or its connection is closed (default 10000 ms; 0 = no limit). Needs
   * `scheduler` for its clock; without one it is measured on the system clock.
   */
  messageTimeoutMs?: number;
  /** Timers of the message timeout and the overload sampling (a scheduler of its own on the system clock by default). */
  scheduler?: TimerScheduler;
  /** Load shedding; off when absent. */
  overload?: OverloadOptions;
  /** An outgoing TCP/TLS connection not established within this is abandoned (default 10000 ms). */
  connectTimeoutMs?: number;
  /** Most TCP+TLS connections open at once, inbound and outbound together (default unlimited). */
  maxConnections?: number;
  /**
   * Outgoing TLS: the CAs to trust and whether to verify (default: verify, against the first
   * TLS ListenSpec's `ca`, else the system CAs). A certificate that fails is SIP_ERR_TRANSPORT_TLS_VERIFY.
   */
  tlsClient?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean };
  /** SO_RCVBUF asked for on UDP sockets, bytes (default 4 MiB; the kernel caps it at net.core.rmem_max; 0 = the kernel default). */
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
