import type { SipTransportName } from '../codec/message.js';
import type { SipEndpoint } from '../transport/types.js';

/** One place to try, in order, for a SIP URI (RFC 3263 §4). */
export interface ResolvedTarget extends SipEndpoint {
  /**
   * True when the transport was fixed by the URI (`;transport=`) or by NAPTR/SRV,
   * so the transport layer must not switch UDP to TCP for size (RFC 3261 §18.1.1).
   */
  transportExplicit: boolean;
}

/** What the SIP stack needs from the resolver. Implemented by `Rfc3263Resolver` and test fakes. */
export interface TargetResolver {
  /**
   * Ordered targets for a `sip:`/`sips:` URI (text form, e.g. `sip:alice@example.com;transport=tcp`),
   * per RFC 3263 §4.1 (transport), §4.2 (port and address) with RFC 2782 SRV priority/weight order;
   * blacklisted targets are moved to the end. Rejects with a PresenceB2BError code `SIP_ERR_DNS`
   * when nothing resolves.
   */
  resolve(uri: string, supportedTransports: ReadonlyArray<SipTransportName>): Promise<ResolvedTarget[]>;
  /** Called after a timeout, transport error or 503 from a target (RFC 3263 §4.3): blacklists it for a while. */
  markFailed(target: SipEndpoint): void;
}
