import type { SipHeaders } from './headers.js';

/** The transports presence-b2b speaks (RFC 3261 §18). */
export type SipTransportName = 'udp' | 'tcp' | 'tls';

interface SipMessageBase {
  readonly headers: SipHeaders;
  /** The body octets (Content-Length octets on a stream; the rest of the datagram, cut at Content-Length, on UDP). */
  body: Uint8Array;
}

/** A SIP request (RFC 3261 §7.1). `uri` is the Request-URI as written; parse it with parseUri(). */
export interface SipRequest extends SipMessageBase {
  readonly kind: 'request';
  method: string;
  uri: string;
}

/** A SIP response (RFC 3261 §7.2). */
export interface SipResponse extends SipMessageBase {
  readonly kind: 'response';
  status: number;
  reason: string;
}

export type SipMessage = SipRequest | SipResponse;

export function isRequest(message: SipMessage): message is SipRequest {
  return message.kind === 'request';
}

export function isResponse(message: SipMessage): message is SipResponse {
  return message.kind === 'response';
}
