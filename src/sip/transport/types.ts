import type { SipMessage, SipRequest, SipResponse, SipTransportName } from '../codec/message.js';

/** Where to send a message: a resolved transport, host (IP literal or name) and port. */
export interface SipEndpoint {
  transport: SipTransportName;
  host: string;
  port: number;
}

/** Where a received message came from, and on which of our sockets. */
export interface ReceivedFrom {
  transport: SipTransportName;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** Set for stream transports: responses to a request go back on the same connection (RFC 3261 §18.2.2). */
  connectionId?: number;
}

/** A listening socket to open. */
export interface ListenSpec {
  transport: SipTransportName;
  host: string;
  /** 0 asks the OS for a free port; read the real one back from `listening()`. */
  port: number;
  /** TLS only: PEM key and certificate (and optional CA for verifying peers). */
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer; rejectUnauthorized?: boolean };
  /** The host written in Via sent-by and Contact, when it differs from `host` (e.g. 0.0.0.0). */
  advertisedHost?: string;
}

/** What the transport layer hands upward for every well-formed message. */
export type MessageHandler = (message: SipMessage, source: ReceivedFrom) => void;

export type SendErrorHandler = (error: Error) => void;

/**
 * The contract between the transport layer and the transaction layer.
 * Implemented by `SipTransportLayer` (transport-layer.ts) and by test fakes.
 */
export interface SipTransport {
  /** Installs the single upward handler. */
  onMessage(handler: MessageHandler): void;
  /**
   * Sends one serialized message. The caller serializes once
   * (serializeSipMessage) and hands the same bytes again for each
   * retransmission (RFC 3261 §17.1.2.2 Timer E, §17.2.2). A response passes
   * the `source` of its request and `destination` = responseDestination()
   * (response-routing.ts): the stream connection the request came on is
   * reused while open, a UDP response leaves from the socket its request came
   * in on (RFC 3261 §18.2.2). Otherwise a connection to `destination` is
   * reused or opened. Errors (ECONNREFUSED, TLS failure, closed connection)
   * are reported to `onError`, never thrown, and always asynchronously.
   */
  send(data: Buffer, destination: SipEndpoint, onError?: SendErrorHandler, source?: ReceivedFrom): void;
  /**
   * The transport to use for a request of `byteLength` octets towards `destination`:
   * RFC 3261 §18.1.1 switches UDP to TCP above 1300 octets when TCP is listening
   * and the destination did not come with an explicit transport.
   */
  chooseTransport(destination: SipEndpoint, byteLength: number, transportWasExplicit: boolean): SipTransportName;
  /** `host:port` for Via sent-by and Contact on this transport; throws if not listening on it. */
  sentBy(transport: SipTransportName): { host: string; port: number };
  /** Transports we listen on. */
  listening(): ReadonlyArray<{ transport: SipTransportName; host: string; port: number }>;
  close(): Promise<void>;
}

export type { SipMessage, SipRequest, SipResponse, SipTransportName };
