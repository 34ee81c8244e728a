import type { SipRequest } from '../codec/message.js';
import type { ClientTransactionUser, IncomingRequest } from '../transaction/types.js';
import type { SipEndpoint } from '../transport/types.js';

/** How to route an outgoing request. */
export interface SendRequestOptions {
  /**
   * A SIP URI to send to instead of the Request-URI / first Route
   * (presence_outbound_proxy): only the destination changes, not the request.
   */
  outboundProxy?: string;
  /** Send to exactly this endpoint (tests, or a flow we must reuse); skips resolution. */
  endpoint?: SipEndpoint;
  /**
   * Our Contact (RFC 3261 §8.1.1.8), written by the UA for each attempt from the
   * transport it actually chose, as it writes the Via: after RFC 3263 resolution
   * and the switch to TCP above 1300 octets (§18.1.1), Contact and Via agree.
   * The value is `<sip:user@sent-by[;transport=tcp|tls]>`. It takes the place of
   * the request's Contact field when there is one (a caller fixes where it goes
   * with `['Contact', '']`), else it is appended.
   */
  contact?: { user: string };
  /**
   * Told where each attempt goes (after RFC 3263 resolution and the §18.1.1
   * transport choice), before it is sent: the engine remembers these addresses
   * as the ones its dialog's NOTIFYs may come from.
   */
  onTarget?: (destination: SipEndpoint) => void;
  /**
   * The request was built for this send and its sender never reads or changes it
   * again: the UA adds Max-Forwards and User-Agent to it in place instead of to a
   * copy, and the first attempt sends its very headers with our Via on top (a later
   * attempt sends a copy). Without it the caller's request stays untouched.
   */
  handOver?: boolean;
}

/** A request in flight. */
export interface OutgoingRequestHandle {
  /** The branch of the transaction currently carrying the request. */
  readonly branch: string;
  /** Stops retransmitting and forgets the transaction; onFinal is not called afterwards. */
  abandon(): void;
  /**
   * Stops retransmitting and trying further targets, but keeps listening: a
   * final response that still arrives (until Timer F) reaches onFinal, so that
   * the sender can undo what the request did after all (RFC 6665 §4.1.2.3: an
   * unSUBSCRIBE for a subscription it no longer wants). A request still waiting
   * for its RFC 3263 resolution is never sent, and onFinal is then not called.
   */
  stopRetransmitting(): void;
}

export type IncomingRequestHandler = (incoming: IncomingRequest) => void;

/**
 * Told of a request that came again after it was answered with a final
 * response (RFC 3261 §17.2.2): the answer was sent again by the stack; the
 * handler learns that the sender had not received it.
 */
export type AnsweredRetransmissionHandler = (request: SipRequest) => void;

/**
 * The user-agent core over transport + resolver + transactions: what the dialog
 * layer, the subscription engine and the local presence agent use to speak SIP.
 */
export interface SipUserAgent {
  /**
   * Sends a request through a new client transaction. The stack adds the top
   * Via (sent-by of the chosen transport, a fresh `z9hG4bK` branch, `rport`
   * per RFC 3581), and a Max-Forwards of 70 when missing. The destination is
   * the first Route URI if it is a loose router (RFC 3261 §8.1.2; `;lr`),
   * else the Request-URI, resolved per RFC 3263 with failover to the next
   * target on timeout, transport error or 503; `options` can override it.
   * `user.onFinal` is called exactly once (408 on timeout, 503 on transport
   * failure, both marked locallyGenerated).
   */
  sendRequest(request: SipRequest, user: ClientTransactionUser, options?: SendRequestOptions): OutgoingRequestHandle;
  /**
   * Registers the handler for incoming requests of one method (e.g. NOTIFY).
   * A method without a handler gets 405 with Allow; OPTIONS gets 200 unless
   * a handler is registered for it.
   */
  onRequest(method: string, handler: IncomingRequestHandler): void;
  /**
   * Registers the handler told of requests of one method that came again
   * after their final response (see AnsweredRetransmissionHandler). Optional:
   * a user agent that does not offer it never tells.
   */
  onAnsweredRetransmission?(method: string, handler: AnsweredRetransmissionHandler): void;
  /**
   * A Contact URI reachable at our listening address for `transport`:
   * `sip:user@host:port[;transport=tcp]`. For responses, on the transport the
   * request came on; a request asks for `SendRequestOptions.contact` instead.
   */
  contactUri(user: string, transport: 'udp' | 'tcp' | 'tls'): string;
  close(): Promise<void>;
}
