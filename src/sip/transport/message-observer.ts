import type { SipTransportName } from '../codec/message.js';

/**
 * One SIP message as it crossed the wire: the exact octets, which way, over
 * which transport, and the real addresses on both sides (ours as bound, the
 * peer's as the socket saw it). Given to a `SipMessageObserver` — packet
 * capture for Homer (HEP), a trace file, a test — by the transport layer.
 */
export interface ObservedSipMessage {
  readonly direction: 'sent' | 'received';
  readonly transport: SipTransportName;
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly destinationAddress: string;
  readonly destinationPort: number;
  /**
   * The octets of one message: a datagram, or one framed message of a stream
   * (keep-alives excluded). Valid only during the call: copy what you keep.
   */
  readonly bytes: Uint8Array;
}

/**
 * What the transport layer tells about every SIP message it sends and
 * receives, well-formed or not (a malformed one is reported as received
 * before it is answered or dropped). Called synchronously on the I/O path:
 * an observer must be quick and must not throw (an exception is caught,
 * counted in `stats.handlerErrors` and reported as a diagnostic). Without an
 * observer the transport layer does nothing more than test that it has none.
 */
export interface SipMessageObserver {
  observe(message: ObservedSipMessage): void;
}
