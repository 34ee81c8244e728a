/**
 * `presence-b2b/sip`: the SIP stack under the B2BUA, for users who build on
 * it (a notifier for another event package, a test peer, a proxy-side tool).
 * Each layer uses only the layers listed before it:
 *
 *   codec (parse/serialize, no I/O) → transport (UDP/TCP/TLS) and resolver
 *   (RFC 3263) → transactions (RFC 3261 §17) → user-agent core → dialog
 *   helpers (RFC 3261 §12, RFC 6665) and the digest client (RFC 2617/7616/8760).
 *
 * Applications that only subscribe to presence need the package root
 * (`presence-b2b`), not this.
 */

// Codec: the I/O-free parser, serializer and typed header accessors (RFC 3261 §7, §20, §25).
export * from './codec/index.js';

// Transport (RFC 3261 §18, RFC 3581).
export { SipTransportError } from './transport/errors.js';
export type { SipTransportErrorCode } from './transport/errors.js';
export { SipTransportLayer } from './transport/transport-layer.js';
export type {
  SipTransportLayerOptions,
  TransportDiagnostic,
  TransportDiagnosticKind,
  TransportStats,
} from './transport/transport-options.js';
export type { ListenSpec, MessageHandler, ReceivedFrom, SendErrorHandler, SipEndpoint, SipTransport } from './transport/types.js';
/** Every message sent and received, with its real addresses (packet capture). */
export type { ObservedSipMessage, SipMessageObserver } from './transport/message-observer.js';
/** Response routing (RFC 3261 §18.2.2) and the default port of each transport. */
export { defaultPort } from './transport/default-port.js';
export { responseDestination } from './transport/response-routing.js';

// Server location (RFC 3263).
export { DnsLookupError, NodeDnsClient, StaticDnsClient } from './resolver/dns-client.js';
export type { DnsClient, NaptrRecord, NodeDnsClientOptions, SrvRecord, StaticDnsRecords } from './resolver/dns-client.js';
export { SipDnsError } from './resolver/errors.js';
export type { SipDnsErrorCode } from './resolver/errors.js';
export { Rfc3263Resolver } from './resolver/rfc3263-resolver.js';
export type { Rfc3263ResolverOptions } from './resolver/rfc3263-resolver.js';
export type { ResolvedTarget, TargetResolver } from './resolver/types.js';

// Non-INVITE transactions (RFC 3261 §17).
export { hasMagicCookie, MAGIC_COOKIE, newBranch } from './transaction/branch.js';
export { type ClientTransactionState, NonInviteClientTransaction } from './transaction/client-transaction.js';
export { TransactionError } from './transaction/errors.js';
export type { TransactionErrorCode } from './transaction/errors.js';
export { NonInviteServerTransaction, type ServerTransactionState } from './transaction/server-transaction.js';
export { type NewRequestListener, TransactionLayer, type TransactionLayerOptions } from './transaction/transaction-layer.js';
export type { TransactionStats } from './transaction/transaction-stats.js';
export { type ClientTransactionUser, DEFAULT_TIMER_SETTINGS, type IncomingRequest, type TransactionTimerSettings } from './transaction/types.js';

// User-agent core: request routing (RFC 3261 §8.1.2), RFC 3263 failover, OPTIONS/405.
export type { AnsweredRetransmissionHandler, IncomingRequestHandler, OutgoingRequestHandle, SendRequestOptions, SipUserAgent } from './ua/types.js';
export { DEFAULT_USER_AGENT, SipUserAgentCore, type SipUserAgentCoreOptions } from './ua/user-agent-core.js';
export type { UserAgentStats } from './ua/user-agent-stats.js';

// Dialogs (RFC 3261 §12, RFC 6665 §4.1.2.4 and §4.2.1).
export {
  acceptRemoteCSeq,
  buildInDialogRequest,
  confirmFromNotify,
  confirmFromResponse,
  type DialogState,
  dialogLookupKey,
  incomingRequestKey,
  newDialogState,
  refreshTarget,
} from './dialog/dialog-state.js';
export { createUasDialogResponse, newUasDialogState } from './dialog/uas-dialog.js';

// Digest authentication, client side (RFC 2617, RFC 7616, RFC 8760).
export { type DigestChallenge, type DigestCredentials, type DigestSession, digestAuthorization, isSupportedChallenge } from './auth/digest-client.js';
